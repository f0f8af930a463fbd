CREATE TABLE readings (
    id integer PRIMARY KEY,
    sensor text NOT NULL,
    value numeric(8,2) NOT NULL
);

CREATE MATERIALIZED VIEW sensor_stats AS
    SELECT sensor, avg(value) AS mean
    FROM readings
    GROUP BY sensor;

CREATE UNIQUE INDEX sensor_stats_sensor_key ON sensor_stats (sensor);

INSERT INTO readings (id, sensor, value) VALUES (1, 'a', 1.5), (2, 'a', 2.5), (3, 'b', 7.0);
