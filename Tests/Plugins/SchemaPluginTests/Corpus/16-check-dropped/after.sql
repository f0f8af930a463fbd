CREATE TABLE shipments (
    id integer PRIMARY KEY,
    weight_kg numeric(8,3) NOT NULL,
    carrier text NOT NULL
);
