CREATE TABLE users (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO users (id, name) VALUES (1, 'Ann'), (2, 'Bob');
