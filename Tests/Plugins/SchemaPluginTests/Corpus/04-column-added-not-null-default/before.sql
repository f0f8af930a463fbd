CREATE TABLE accounts (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO accounts (id, name) VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma');
