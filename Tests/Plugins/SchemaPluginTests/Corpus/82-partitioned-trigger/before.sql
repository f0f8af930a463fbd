CREATE TABLE orders (
    id integer NOT NULL,
    region text NOT NULL,
    updated_at timestamptz
) PARTITION BY LIST (region);

CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');

INSERT INTO orders VALUES (1, 'eu', NULL), (2, 'us', NULL);
