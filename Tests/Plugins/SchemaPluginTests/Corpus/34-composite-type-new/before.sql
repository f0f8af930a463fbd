CREATE TABLE venues (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO venues (id, name) VALUES (1, 'Hall A'), (2, 'Hall B');
