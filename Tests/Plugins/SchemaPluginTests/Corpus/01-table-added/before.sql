CREATE TABLE users (
    id integer PRIMARY KEY,
    email text NOT NULL
);

INSERT INTO users (id, email) VALUES (1, 'ann@example.com'), (2, 'bob@example.com');
