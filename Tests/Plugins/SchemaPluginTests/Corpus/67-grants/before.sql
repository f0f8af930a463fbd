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

GRANT SELECT, INSERT, UPDATE ON orders TO tmeops_corpus_reader;

INSERT INTO products (id, name) VALUES (1, 'pen');
