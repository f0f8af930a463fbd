CREATE SEQUENCE receipt_numbers
    START WITH 1000
    INCREMENT BY 10
    MINVALUE 1000
    MAXVALUE 999999
    CACHE 1
    CYCLE;

CREATE SEQUENCE batch_ids;

CREATE TABLE receipts (
    id integer PRIMARY KEY,
    total numeric(10,2) NOT NULL
);
