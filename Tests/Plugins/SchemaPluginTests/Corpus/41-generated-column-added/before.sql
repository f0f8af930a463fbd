CREATE TABLE line_items (
    id integer PRIMARY KEY,
    unit_price numeric(10,2) NOT NULL,
    quantity integer NOT NULL,
    first_name text,
    last_name text
);

INSERT INTO line_items (id, unit_price, quantity, first_name, last_name) VALUES
    (1, 2.50, 4, 'Ann', 'Lee'),
    (2, 10.00, 1, NULL, 'Roe');
