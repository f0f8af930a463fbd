CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    vat_number text,
    notes text
);

CREATE VIEW customer_names AS SELECT id, name FROM customers;

COMMENT ON TABLE customers IS 'People and companies we bill';
COMMENT ON COLUMN customers.name IS 'Legal or display name';
COMMENT ON COLUMN customers.vat_number IS 'EU VAT number, if any';
COMMENT ON VIEW customer_names IS 'Customer ids with names';
