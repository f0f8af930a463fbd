CREATE TABLE logs (
    id bigint NOT NULL,
    logged_at timestamptz NOT NULL,
    line text NOT NULL
) PARTITION BY RANGE (logged_at);

CREATE TABLE logs_current PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2030-01-01');

-- Kept as a plain table for reading, no longer part of logs.
CREATE TABLE logs_archive (
    id bigint NOT NULL,
    logged_at timestamptz NOT NULL,
    line text NOT NULL
);

CREATE INDEX logs_logged_at_idx ON logs (logged_at);
CREATE INDEX logs_archive_logged_at_idx ON logs_archive (logged_at);
