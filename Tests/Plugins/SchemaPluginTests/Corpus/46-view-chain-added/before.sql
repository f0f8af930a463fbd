CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(10,2) NOT NULL
);

INSERT INTO orders (id, customer, amount) VALUES (1, 'ann', 10), (2, 'ann', 20), (3, 'bob', 5);
