CREATE TABLE categories (
    id integer NOT NULL PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE labels (
    name text PRIMARY KEY
);

INSERT INTO categories (id, name) VALUES (1, 'books'), (2, 'music');
INSERT INTO labels (name) VALUES ('red'), ('blue');
