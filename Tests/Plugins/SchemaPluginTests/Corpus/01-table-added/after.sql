CREATE TABLE users (
    id integer PRIMARY KEY,
    email text NOT NULL
);

CREATE TABLE tags (
    id integer PRIMARY KEY,
    name text NOT NULL
);
