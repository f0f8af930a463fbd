CREATE TABLE orders (
    id integer PRIMARY KEY,
    amount numeric(10,2) NOT NULL,
    placed_on date NOT NULL
);

CREATE VIEW daily_totals AS
    SELECT placed_on AS day, sum(amount) AS total
    FROM orders
    GROUP BY placed_on;
