CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'returned');

CREATE TABLE orders (
    id integer PRIMARY KEY,
    status order_status NOT NULL DEFAULT 'pending'
);
