CREATE TABLE users (
    id integer PRIMARY KEY,
    name text NOT NULL,
    active boolean NOT NULL DEFAULT true
);

CREATE VIEW old_user_names AS
    SELECT name FROM users;

INSERT INTO users (id, name, active) VALUES (1, 'ann', true), (2, 'bob', false);
