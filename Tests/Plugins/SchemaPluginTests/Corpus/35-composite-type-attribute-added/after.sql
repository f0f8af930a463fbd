CREATE TYPE money_amount AS (
    amount numeric(12,2),
    currency char(3),
    rate numeric(10,6)
);

CREATE TABLE payments (
    id integer PRIMARY KEY,
    total money_amount NOT NULL
);
