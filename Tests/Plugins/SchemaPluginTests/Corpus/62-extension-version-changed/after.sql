CREATE EXTENSION hstore VERSION '1.8';

CREATE TABLE profiles (
    id integer PRIMARY KEY,
    attrs hstore NOT NULL DEFAULT ''
);
