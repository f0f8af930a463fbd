CREATE TABLE items (
    id integer PRIMARY KEY,
    price numeric(10,2) NOT NULL
);

CREATE VIEW cheap_items AS SELECT id, price FROM items WHERE price < 10;
COMMENT ON VIEW cheap_items IS 'Items under 10';
COMMENT ON COLUMN cheap_items.price IS 'Gross price';

CREATE FUNCTION cheap_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM cheap_items $$;
COMMENT ON FUNCTION cheap_count() IS 'How many cheap items';

INSERT INTO items VALUES (1, 5), (2, 50);
