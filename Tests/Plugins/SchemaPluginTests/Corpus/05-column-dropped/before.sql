CREATE TABLE products (
    id integer PRIMARY KEY,
    name text NOT NULL,
    legacy_code varchar(20),
    price numeric(10,2) NOT NULL
);

INSERT INTO products (id, name, legacy_code, price) VALUES
    (1, 'pen', 'P-1', 1.50),
    (2, 'book', NULL, 12.00);
