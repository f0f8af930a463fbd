CREATE TABLE employees (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO employees (id, name) VALUES (1, 'Ann'), (2, 'Bob');
