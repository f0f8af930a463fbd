CREATE TABLE events (
    id integer NOT NULL,
    kind text NOT NULL,
    happened_on date NOT NULL
) PARTITION BY LIST (kind);

CREATE TABLE events_click PARTITION OF events FOR VALUES IN ('click');

CREATE TABLE events_view PARTITION OF events FOR VALUES IN ('view');

CREATE TABLE events_other PARTITION OF events DEFAULT;

CREATE INDEX events_happened_on_idx ON events (happened_on);
CREATE UNIQUE INDEX events_id_kind_key ON events (id, kind);
