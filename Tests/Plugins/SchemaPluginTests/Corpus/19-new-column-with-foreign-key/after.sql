CREATE TABLE authors (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE books (
    id integer PRIMARY KEY,
    title text NOT NULL,
    author_id integer REFERENCES authors (id)
);

CREATE INDEX books_author_id_idx ON books (author_id);
