CREATE TABLE accounts (
    id integer PRIMARY KEY,
    email text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    balance integer NOT NULL DEFAULT 0
);

CREATE INDEX accounts_balance_idx ON accounts (balance) WHERE balance > 0;

INSERT INTO accounts (id, email, deleted, balance) VALUES
    (1, 'Ann@Example.com', false, 10),
    (2, 'bob@example.com', true, 0);
