CREATE TABLE tasks (
    id integer PRIMARY KEY,
    title text NOT NULL,
    priority integer NOT NULL DEFAULT 3,
    assignee text DEFAULT 'nobody'
);

INSERT INTO tasks (id, title) VALUES (1, 'write docs'), (2, 'fix bug');
