CREATE TABLE accounts (
    id integer PRIMARY KEY,
    email text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    balance integer NOT NULL DEFAULT 0
);

CREATE INDEX accounts_balance_idx ON accounts (balance) WHERE balance > 100;
CREATE UNIQUE INDEX accounts_email_lower_key ON accounts (lower(email)) WHERE NOT deleted;
CREATE INDEX accounts_email_lower_idx ON accounts (lower(email));
