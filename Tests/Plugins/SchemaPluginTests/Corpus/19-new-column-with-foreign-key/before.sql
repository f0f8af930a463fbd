CREATE TABLE authors (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE books (
    id integer PRIMARY KEY,
    title text NOT NULL
);

INSERT INTO authors (id, name) VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO books (id, title) VALUES (10, 'First'), (11, 'Second');
