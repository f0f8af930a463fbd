CREATE TABLE documents (
    id integer PRIMARY KEY,
    payload jsonb NOT NULL DEFAULT '{}',
    labels text[] NOT NULL DEFAULT '{}'
);

CREATE INDEX documents_payload_idx ON documents USING gin (payload);
CREATE INDEX documents_payload_path_idx ON documents USING gin (payload jsonb_path_ops);
CREATE INDEX documents_labels_idx ON documents USING gin (labels);
CREATE INDEX documents_kind_idx ON documents ((payload ->> 'kind'));
