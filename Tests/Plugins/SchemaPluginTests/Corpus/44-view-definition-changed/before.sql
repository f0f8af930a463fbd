CREATE TABLE sales (
    id integer PRIMARY KEY,
    region text NOT NULL,
    amount numeric(10,2) NOT NULL
);

CREATE VIEW sales_by_region AS
    SELECT region, sum(amount) AS total
    FROM sales
    GROUP BY region;

CREATE VIEW big_sales AS
    SELECT id, region, amount FROM sales WHERE amount > 100;

INSERT INTO sales (id, region, amount) VALUES (1, 'north', 50), (2, 'south', 150);
