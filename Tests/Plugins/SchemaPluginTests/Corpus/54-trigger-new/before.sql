CREATE TABLE documents (
    id integer PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamp
);

INSERT INTO documents (id, title, updated_at) VALUES (1, 'plan', '2024-01-01 10:00:00');
