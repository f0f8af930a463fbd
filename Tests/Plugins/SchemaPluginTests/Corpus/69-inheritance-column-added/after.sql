CREATE TABLE vehicles (
    id integer PRIMARY KEY,
    make text NOT NULL,
    wheels integer NOT NULL DEFAULT 4,
    CONSTRAINT vehicles_wheels_check CHECK (wheels > 0)
);

CREATE TABLE cars () INHERITS (vehicles);

CREATE TABLE trucks () INHERITS (vehicles);
