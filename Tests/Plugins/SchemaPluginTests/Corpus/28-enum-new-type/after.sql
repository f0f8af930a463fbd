CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'high');

CREATE TABLE tickets (
    id integer PRIMARY KEY,
    title text NOT NULL,
    priority ticket_priority NOT NULL DEFAULT 'normal'
);
