CREATE TABLE vehicles (
    id integer PRIMARY KEY,
    make text NOT NULL
);

CREATE TABLE cars () INHERITS (vehicles);

CREATE TABLE trucks () INHERITS (vehicles);

INSERT INTO vehicles (id, make) VALUES (1, 'generic');
INSERT INTO cars (id, make) VALUES (2, 'volvo');
INSERT INTO trucks (id, make) VALUES (3, 'scania');
