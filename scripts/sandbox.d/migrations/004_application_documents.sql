CREATE TABLE application_documents (
    id serial PRIMARY KEY,
    application_id integer NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    file_name text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_documents_application ON application_documents (application_id);
