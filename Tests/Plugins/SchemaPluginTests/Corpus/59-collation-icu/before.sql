CREATE TABLE tags (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO tags (id, name) VALUES (1, 'Red'), (2, 'blue');
