CREATE TABLE sessions (
    id integer PRIMARY KEY
);
