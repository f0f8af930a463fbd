CREATE TABLE rectangles (
    id integer PRIMARY KEY,
    width integer NOT NULL,
    height integer NOT NULL,
    area integer GENERATED ALWAYS AS (width * height * 2) STORED
);
