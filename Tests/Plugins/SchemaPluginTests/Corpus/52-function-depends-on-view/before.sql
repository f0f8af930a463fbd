CREATE TABLE users (
    id integer PRIMARY KEY,
    name text NOT NULL,
    active boolean NOT NULL
);

CREATE VIEW active_users AS
    SELECT id, name FROM users WHERE active;

CREATE FUNCTION list_active_users()
RETURNS SETOF active_users
LANGUAGE sql STABLE
AS $$ SELECT * FROM active_users ORDER BY id $$;

CREATE FUNCTION count_active_users()
RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM active_users $$;

INSERT INTO users (id, name, active) VALUES (1, 'ann', true), (2, 'bob', false);
