CREATE DOMAIN percentage AS numeric(5,2)
    CONSTRAINT percentage_range CHECK (VALUE > 0 AND VALUE <= 50);

CREATE DOMAIN short_code AS varchar(10)
    DEFAULT 'NONE'
    CONSTRAINT short_code_upper CHECK (VALUE = upper(VALUE))
    CONSTRAINT short_code_length CHECK (length(VALUE) >= 3);

CREATE TABLE discounts (
    id integer PRIMARY KEY,
    code short_code NOT NULL,
    amount percentage NOT NULL
);
