CREATE TABLE tasks (
    id integer PRIMARY KEY,
    title text NOT NULL,
    priority integer NOT NULL,
    assignee text
);
