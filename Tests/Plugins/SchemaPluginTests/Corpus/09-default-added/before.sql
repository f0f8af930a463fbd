CREATE TABLE orders (
    id integer PRIMARY KEY,
    status text NOT NULL,
    quantity integer,
    created_on date
);

INSERT INTO orders (id, status, quantity, created_on) VALUES (1, 'new', 1, '2024-01-15');
