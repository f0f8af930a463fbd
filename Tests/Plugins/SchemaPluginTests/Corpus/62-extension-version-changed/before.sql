CREATE EXTENSION hstore VERSION '1.7';

CREATE TABLE profiles (
    id integer PRIMARY KEY,
    attrs hstore NOT NULL DEFAULT ''
);

INSERT INTO profiles (id, attrs) VALUES (1, 'color => blue'), (2, 'size => 3, shape => round');
