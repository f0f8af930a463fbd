-- The view changes (so it is dropped and made again, with the function that reads it); the comments
-- on both, unchanged, must come back with them.
CREATE TABLE items (
    id integer PRIMARY KEY,
    price numeric(10,2) NOT NULL,
    name text
);

CREATE VIEW cheap_items AS SELECT id, price, name FROM items WHERE price < 10;
COMMENT ON VIEW cheap_items IS 'Items under 10';
COMMENT ON COLUMN cheap_items.price IS 'Gross price';

CREATE FUNCTION cheap_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM cheap_items $$;
COMMENT ON FUNCTION cheap_count() IS 'How many cheap items';
