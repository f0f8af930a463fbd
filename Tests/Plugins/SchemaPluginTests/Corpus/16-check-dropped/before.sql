CREATE TABLE shipments (
    id integer PRIMARY KEY,
    weight_kg numeric(8,3) NOT NULL CHECK (weight_kg > 0),
    carrier text NOT NULL,
    CONSTRAINT shipments_carrier_check CHECK (carrier IN ('ups', 'dhl'))
);

INSERT INTO shipments (id, weight_kg, carrier) VALUES (1, 1.250, 'ups');
