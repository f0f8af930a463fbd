CREATE DOMAIN percentage AS numeric(5,2)
    CONSTRAINT percentage_range CHECK (VALUE >= 0 AND VALUE <= 100);

CREATE DOMAIN short_code AS varchar(10)
    CONSTRAINT short_code_upper CHECK (VALUE = upper(VALUE));

CREATE TABLE discounts (
    id integer PRIMARY KEY,
    code short_code NOT NULL,
    amount percentage NOT NULL
);

INSERT INTO discounts (id, code, amount) VALUES (1, 'SPRING', 10.00), (2, 'VIP', 25.50);
