CREATE TABLE contacts (
    id integer PRIMARY KEY,
    email text,
    name text
);

INSERT INTO contacts (id, email, name) VALUES
    (1, 'ann@example.com', 'Ann'),
    (2, 'bob@example.com', 'Bob');
