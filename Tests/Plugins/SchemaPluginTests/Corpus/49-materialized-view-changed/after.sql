CREATE TABLE readings (
    id integer PRIMARY KEY,
    sensor text NOT NULL,
    value numeric(8,2) NOT NULL
);

CREATE MATERIALIZED VIEW sensor_stats AS
    SELECT sensor, avg(value) AS mean, max(value) AS peak
    FROM readings
    GROUP BY sensor;

CREATE UNIQUE INDEX sensor_stats_sensor_key ON sensor_stats (sensor);
CREATE INDEX sensor_stats_peak_idx ON sensor_stats (peak);
