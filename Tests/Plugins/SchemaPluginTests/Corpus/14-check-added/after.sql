CREATE TABLE items (
    id integer PRIMARY KEY,
    price numeric(10,2) NOT NULL CHECK (price >= 0),
    quantity integer NOT NULL,
    code text,
    CONSTRAINT items_quantity_range CHECK (quantity BETWEEN 0 AND 1000),
    CONSTRAINT items_code_length CHECK (code IS NULL OR length(code) = 2)
);
