CREATE TABLE sales (
    id integer PRIMARY KEY,
    region text NOT NULL,
    amount numeric(10,2) NOT NULL
);

CREATE VIEW sales_by_region AS
    SELECT region, sum(amount) AS total, count(*) AS sale_count
    FROM sales
    GROUP BY region;

CREATE VIEW big_sales AS
    SELECT id, amount FROM sales WHERE amount > 500;
