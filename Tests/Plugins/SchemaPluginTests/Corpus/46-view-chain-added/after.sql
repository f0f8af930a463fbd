CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(10,2) NOT NULL
);

CREATE VIEW customer_totals AS
    SELECT customer, sum(amount) AS total FROM orders GROUP BY customer;

CREATE VIEW top_customers AS
    SELECT customer, total FROM customer_totals WHERE total > 15;

CREATE VIEW top_customer_names AS
    SELECT customer FROM top_customers ORDER BY customer;
