CREATE TYPE account_state AS ENUM ('active', 'suspended');

CREATE TYPE account_status AS ENUM ('active', 'suspended', 'closed');

CREATE TABLE accounts (
    id integer PRIMARY KEY,
    state account_status NOT NULL DEFAULT 'active'
);
