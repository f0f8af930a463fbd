CREATE SEQUENCE small_counter AS bigint;

CREATE SEQUENCE big_counter AS integer START WITH 5;

CREATE SEQUENCE mid_counter AS smallint INCREMENT BY 2;

CREATE TABLE counters (
    id integer PRIMARY KEY,
    label text NOT NULL
);
