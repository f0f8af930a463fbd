CREATE SEQUENCE small_counter AS smallint;

CREATE SEQUENCE big_counter AS bigint START WITH 5;

CREATE SEQUENCE mid_counter AS integer INCREMENT BY 2;

CREATE TABLE counters (
    id integer PRIMARY KEY,
    label text NOT NULL
);

INSERT INTO counters (id, label) VALUES (1, 'one');
