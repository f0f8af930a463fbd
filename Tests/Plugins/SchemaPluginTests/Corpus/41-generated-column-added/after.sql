CREATE TABLE line_items (
    id integer PRIMARY KEY,
    unit_price numeric(10,2) NOT NULL,
    quantity integer NOT NULL,
    first_name text,
    last_name text,
    total numeric(12,2) GENERATED ALWAYS AS (unit_price * quantity) STORED,
    full_name text GENERATED ALWAYS AS (coalesce(first_name || ' ', '') || last_name) STORED
);

CREATE INDEX line_items_total_idx ON line_items (total);
