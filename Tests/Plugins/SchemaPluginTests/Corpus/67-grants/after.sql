-- Roles belong to the server: made once, whichever case gets there first (cases run side by side).
DO $$
BEGIN
    CREATE ROLE tmeops_corpus_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE TABLE products (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE orders (
    id integer PRIMARY KEY,
    product_id integer NOT NULL
);

GRANT SELECT ON products TO tmeops_corpus_reader;
GRANT SELECT ON orders TO tmeops_corpus_reader;
GRANT UPDATE (product_id) ON orders TO tmeops_corpus_reader;
