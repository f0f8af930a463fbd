CREATE TABLE subscribers (
    id integer PRIMARY KEY,
    email text NOT NULL
);

INSERT INTO subscribers (id, email) VALUES (1, 'ann@example.com'), (2, 'bob@example.com');
