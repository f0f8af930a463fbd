CREATE TABLE measurements (
    id integer NOT NULL,
    taken_on date NOT NULL,
    value numeric(8,2) NOT NULL,
    PRIMARY KEY (id, taken_on)
) PARTITION BY RANGE (taken_on);

CREATE TABLE measurements_2023 PARTITION OF measurements
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');

CREATE TABLE measurements_2024 PARTITION OF measurements
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

INSERT INTO measurements (id, taken_on, value) VALUES
    (1, '2023-06-01', 1.5), (2, '2024-02-01', 2.5), (3, '2024-03-01', 3.0);
