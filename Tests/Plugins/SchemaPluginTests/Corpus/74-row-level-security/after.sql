CREATE TABLE notes (
    id integer PRIMARY KEY,
    owner_name text NOT NULL,
    body text NOT NULL,
    published boolean NOT NULL DEFAULT false
);

ALTER TABLE notes ENABLE ROW LEVEL SECURITY;

CREATE POLICY notes_owner ON notes
    FOR ALL
    USING (owner_name = current_user OR published)
    WITH CHECK (owner_name = current_user);

CREATE POLICY notes_read_published ON notes
    AS PERMISSIVE FOR SELECT
    USING (published);
