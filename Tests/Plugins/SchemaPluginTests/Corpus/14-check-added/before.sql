CREATE TABLE items (
    id integer PRIMARY KEY,
    price numeric(10,2) NOT NULL,
    quantity integer NOT NULL,
    code text
);

INSERT INTO items (id, price, quantity, code) VALUES (1, 9.99, 3, 'AB'), (2, 0, 0, NULL);
