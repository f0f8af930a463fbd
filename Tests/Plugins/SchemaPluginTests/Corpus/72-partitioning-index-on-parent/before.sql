CREATE TABLE events (
    id integer NOT NULL,
    kind text NOT NULL,
    happened_on date NOT NULL
) PARTITION BY LIST (kind);

CREATE TABLE events_click PARTITION OF events FOR VALUES IN ('click');

CREATE TABLE events_view PARTITION OF events FOR VALUES IN ('view');

INSERT INTO events (id, kind, happened_on) VALUES (1, 'click', '2024-01-01'), (2, 'view', '2024-01-02');
