CREATE TABLE prices (
    id integer PRIMARY KEY,
    amount numeric(10,2) NOT NULL
);

INSERT INTO prices (id, amount) VALUES (1, 10.00), (2, 20.00);
