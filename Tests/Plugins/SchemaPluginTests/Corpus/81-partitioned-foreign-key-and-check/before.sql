CREATE TABLE accounts (
    id integer PRIMARY KEY
);

CREATE TABLE ledger (
    account_id integer NOT NULL,
    booked_on date NOT NULL,
    amount numeric(12,2) NOT NULL
) PARTITION BY RANGE (booked_on);

CREATE TABLE ledger_2024 PARTITION OF ledger FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ledger_2025 PARTITION OF ledger FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

INSERT INTO accounts VALUES (1), (2);
INSERT INTO ledger VALUES (1, '2024-02-02', 5.00), (2, '2025-02-02', 7.50);
