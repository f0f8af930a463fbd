CREATE TABLE orders (
    id integer PRIMARY KEY,
    status text NOT NULL DEFAULT 'new',
    quantity integer DEFAULT 1,
    created_on date DEFAULT CURRENT_DATE
);
