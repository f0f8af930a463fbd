DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tmeops_corpus_reader') THEN
        CREATE ROLE tmeops_corpus_reader NOLOGIN;
    END IF;
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
