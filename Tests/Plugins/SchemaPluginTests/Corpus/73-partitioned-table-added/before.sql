CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO customers (id, name) VALUES (1, 'ann');
