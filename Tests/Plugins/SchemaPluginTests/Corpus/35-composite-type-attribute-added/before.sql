CREATE TYPE money_amount AS (
    amount numeric(12,2),
    currency char(3)
);

CREATE TYPE old_pair AS (a integer, b integer);

CREATE TABLE payments (
    id integer PRIMARY KEY,
    total money_amount NOT NULL
);

INSERT INTO payments (id, total) VALUES (1, ROW(10.00, 'EUR')), (2, ROW(5.50, 'USD'));
