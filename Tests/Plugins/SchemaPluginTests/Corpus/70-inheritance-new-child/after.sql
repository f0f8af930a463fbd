CREATE TABLE animals (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE cats (
    lives integer NOT NULL DEFAULT 9
) INHERITS (animals);

CREATE TABLE dogs (
    breed text
) INHERITS (animals);
