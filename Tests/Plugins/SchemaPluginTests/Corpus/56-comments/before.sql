CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    vat_number text,
    notes text
);

CREATE VIEW customer_names AS SELECT id, name FROM customers;

COMMENT ON COLUMN customers.name IS 'Display name';
COMMENT ON COLUMN customers.notes IS 'Free text, to be removed';
COMMENT ON VIEW customer_names IS 'Old description';

INSERT INTO customers (id, name) VALUES (1, 'Acme');
