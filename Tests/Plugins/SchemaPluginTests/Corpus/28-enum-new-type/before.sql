CREATE TABLE tickets (
    id integer PRIMARY KEY,
    title text NOT NULL
);

INSERT INTO tickets (id, title) VALUES (1, 'broken link'), (2, 'slow page');
