CREATE TABLE transfers (
    id integer PRIMARY KEY,
    amount integer NOT NULL,
    memo varchar(30)
);

CREATE VIEW large_transfers AS
    SELECT id, amount, memo FROM transfers WHERE amount > 1000;

INSERT INTO transfers (id, amount, memo) VALUES (1, 500, 'rent'), (2, 5000, 'car');
