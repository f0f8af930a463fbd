CREATE TABLE parents (
    id integer PRIMARY KEY
);

CREATE TABLE children (
    id integer PRIMARY KEY,
    parent_id integer NOT NULL REFERENCES parents (id),
    guardian_id integer REFERENCES parents (id) ON DELETE SET NULL
);

INSERT INTO parents (id) VALUES (1), (2);
INSERT INTO children (id, parent_id, guardian_id) VALUES (1, 1, 2), (2, 2, NULL);
