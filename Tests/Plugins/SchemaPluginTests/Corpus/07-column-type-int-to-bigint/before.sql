CREATE TABLE events (
    id integer PRIMARY KEY,
    counter integer NOT NULL DEFAULT 0,
    ref_id integer
);

CREATE INDEX events_ref_id_idx ON events (ref_id);

INSERT INTO events (id, counter, ref_id) VALUES (1, 10, 100), (2, 20, NULL), (3, 2147483647, 300);
