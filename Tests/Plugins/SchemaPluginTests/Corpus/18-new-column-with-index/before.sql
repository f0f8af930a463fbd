CREATE TABLE posts (
    id integer PRIMARY KEY,
    title text NOT NULL
);

INSERT INTO posts (id, title) VALUES (1, 'one'), (2, 'two');
