CREATE TABLE users (
    id integer PRIMARY KEY,
    email text NOT NULL,
    name text
);

CREATE TABLE legacy_sessions (
    id integer PRIMARY KEY,
    token text NOT NULL
);

INSERT INTO users (id, email) VALUES (1, 'ann@example.com');
INSERT INTO legacy_sessions (id, token) VALUES (1, 'abc'), (2, 'def');
