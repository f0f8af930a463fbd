CREATE TABLE logs (
    id bigint NOT NULL,
    logged_at timestamptz NOT NULL,
    line text NOT NULL
) PARTITION BY RANGE (logged_at);

CREATE TABLE logs_old PARTITION OF logs FOR VALUES FROM ('2020-01-01') TO ('2023-01-01');
CREATE TABLE logs_archive PARTITION OF logs FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE logs_current PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2030-01-01');

CREATE INDEX logs_logged_at_idx ON logs (logged_at);

INSERT INTO logs VALUES (1, '2021-01-01', 'old'), (2, '2023-06-01', 'archived'), (3, '2024-06-01', 'current');
