CREATE TABLE notes (
    id integer PRIMARY KEY,
    owner_name text NOT NULL,
    body text NOT NULL,
    published boolean NOT NULL DEFAULT false
);

CREATE POLICY notes_owner ON notes
    USING (owner_name = current_user);

INSERT INTO notes (id, owner_name, body) VALUES (1, 'ann', 'hello'), (2, 'bob', 'world');
