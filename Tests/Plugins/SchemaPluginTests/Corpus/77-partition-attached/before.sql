CREATE TABLE readings (
    id integer NOT NULL,
    taken_on date NOT NULL,
    value integer NOT NULL
) PARTITION BY RANGE (taken_on);

CREATE TABLE readings_2023 PARTITION OF readings FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');

-- Loaded on its own first, to be attached later.
CREATE TABLE readings_2024 (
    id integer NOT NULL,
    taken_on date NOT NULL,
    value integer NOT NULL
);

INSERT INTO readings VALUES (1, '2023-05-01', 10);
INSERT INTO readings_2024 VALUES (2, '2024-05-01', 20);
