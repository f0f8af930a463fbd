CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE invoices (
    id integer NOT NULL,
    customer_id integer NOT NULL REFERENCES customers (id),
    amount numeric(10,2) NOT NULL CHECK (amount >= 0)
) PARTITION BY HASH (id);

CREATE TABLE invoices_p0 PARTITION OF invoices FOR VALUES WITH (MODULUS 2, REMAINDER 0);

CREATE TABLE invoices_p1 PARTITION OF invoices FOR VALUES WITH (MODULUS 2, REMAINDER 1);

CREATE INDEX invoices_customer_id_idx ON invoices (customer_id);
