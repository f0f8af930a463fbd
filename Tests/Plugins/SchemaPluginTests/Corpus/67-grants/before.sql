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

GRANT SELECT, INSERT, UPDATE ON orders TO tmeops_corpus_reader;

INSERT INTO products (id, name) VALUES (1, 'pen');
