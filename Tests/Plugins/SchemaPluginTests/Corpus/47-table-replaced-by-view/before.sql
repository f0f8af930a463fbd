CREATE TABLE orders (
    id integer PRIMARY KEY,
    amount numeric(10,2) NOT NULL,
    placed_on date NOT NULL
);

CREATE TABLE daily_totals (
    day date PRIMARY KEY,
    total numeric(12,2) NOT NULL
);

INSERT INTO orders (id, amount, placed_on) VALUES (1, 10, '2024-05-01'), (2, 5, '2024-05-01');
INSERT INTO daily_totals (day, total) VALUES ('2024-05-01', 15);
