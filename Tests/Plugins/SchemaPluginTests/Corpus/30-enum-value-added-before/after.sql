CREATE TYPE size AS ENUM ('tiny', 'small', 'medium', 'large');

CREATE TABLE garments (
    id integer PRIMARY KEY,
    fit size NOT NULL
);
