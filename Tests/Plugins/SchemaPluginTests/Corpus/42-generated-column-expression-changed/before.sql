CREATE TABLE rectangles (
    id integer PRIMARY KEY,
    width integer NOT NULL,
    height integer NOT NULL,
    area integer GENERATED ALWAYS AS (width * height) STORED
);

INSERT INTO rectangles (id, width, height) VALUES (1, 2, 3), (2, 4, 5);
