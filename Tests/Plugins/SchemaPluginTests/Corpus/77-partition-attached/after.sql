CREATE TABLE readings (
    id integer NOT NULL,
    taken_on date NOT NULL,
    value integer NOT NULL
) PARTITION BY RANGE (taken_on);

CREATE TABLE readings_2023 PARTITION OF readings FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');

CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
