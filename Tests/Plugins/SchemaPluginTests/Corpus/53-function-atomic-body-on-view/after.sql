CREATE TABLE products (
    id integer PRIMARY KEY,
    name text NOT NULL,
    price numeric(10,2) NOT NULL,
    discontinued boolean NOT NULL DEFAULT false
);

CREATE VIEW current_products AS
    SELECT id, name, price FROM products WHERE NOT discontinued;

CREATE FUNCTION current_product_count()
RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT count(*) FROM current_products;
END;
