CREATE TABLE accounts (
    id integer PRIMARY KEY
);

CREATE TABLE ledger (
    account_id integer NOT NULL REFERENCES accounts (id),
    booked_on date NOT NULL,
    amount numeric(12,2) NOT NULL CONSTRAINT ledger_amount_check CHECK (amount <> 0),
    PRIMARY KEY (account_id, booked_on)
) PARTITION BY RANGE (booked_on);

CREATE TABLE ledger_2024 PARTITION OF ledger FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ledger_2025 PARTITION OF ledger FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
