CREATE TABLE coupons (
    id integer PRIMARY KEY,
    code text NOT NULL,
    serial_no integer
);

CREATE SEQUENCE coupons_serial_no_seq AS integer START WITH 100 OWNED BY coupons.serial_no;

ALTER TABLE coupons ALTER COLUMN serial_no SET DEFAULT nextval('coupons_serial_no_seq');

CREATE TABLE vouchers (
    id serial PRIMARY KEY,
    code text NOT NULL
);
