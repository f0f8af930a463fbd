CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;

CREATE TABLE users (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email citext,
    attributes hstore
);

CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops);
CREATE UNIQUE INDEX users_email_key ON users (email);
