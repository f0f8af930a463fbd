CREATE TYPE size AS ENUM ('small', 'large');

CREATE TABLE garments (
    id integer PRIMARY KEY,
    fit size NOT NULL
);

INSERT INTO garments (id, fit) VALUES (1, 'small'), (2, 'large');
