CREATE TABLE accounts (
    id integer PRIMARY KEY,
    name text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    plan text NOT NULL DEFAULT 'free',
    credits integer NOT NULL DEFAULT 0
);
