CREATE TABLE transfers (
    id integer PRIMARY KEY,
    amount bigint NOT NULL,
    memo text
);

CREATE VIEW large_transfers AS
    SELECT id, amount, memo FROM transfers WHERE amount > 1000;
