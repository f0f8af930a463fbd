CREATE TABLE people (
    id integer PRIMARY KEY,
    city text,
    display_name text
);
