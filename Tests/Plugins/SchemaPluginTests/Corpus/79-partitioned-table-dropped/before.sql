CREATE TABLE sessions (
    id integer PRIMARY KEY
);

CREATE TABLE hits (
    session_id integer NOT NULL REFERENCES sessions (id),
    at date NOT NULL,
    path text NOT NULL
) PARTITION BY RANGE (at);

CREATE TABLE hits_2024 PARTITION OF hits FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE hits_2025 PARTITION OF hits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

INSERT INTO sessions VALUES (1);
INSERT INTO hits VALUES (1, '2024-03-03', '/'), (1, '2025-03-03', '/about');
