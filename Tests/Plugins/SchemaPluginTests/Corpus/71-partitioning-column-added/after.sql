CREATE TABLE measurements (
    id integer NOT NULL,
    taken_on date NOT NULL,
    value numeric(8,2) NOT NULL,
    unit text NOT NULL DEFAULT 'kg',
    note text,
    PRIMARY KEY (id, taken_on)
) PARTITION BY RANGE (taken_on);

CREATE TABLE measurements_2023 PARTITION OF measurements
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');

CREATE TABLE measurements_2024 PARTITION OF measurements
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
