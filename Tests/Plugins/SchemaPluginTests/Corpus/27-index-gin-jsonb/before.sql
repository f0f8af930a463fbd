CREATE TABLE documents (
    id integer PRIMARY KEY,
    payload jsonb NOT NULL DEFAULT '{}',
    labels text[] NOT NULL DEFAULT '{}'
);

INSERT INTO documents (id, payload, labels) VALUES
    (1, '{"kind": "memo", "size": 3}', '{a,b}'),
    (2, '{"kind": "note"}', '{}');
