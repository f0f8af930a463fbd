CREATE TABLE receipts (
    id integer PRIMARY KEY,
    total numeric(10,2) NOT NULL
);

INSERT INTO receipts (id, total) VALUES (1, 3.50), (2, 7.25);
