CREATE TABLE coupons (
    id integer PRIMARY KEY,
    code text NOT NULL,
    serial_no integer
);

INSERT INTO coupons (id, code, serial_no) VALUES (1, 'A', 1), (2, 'B', 2);
