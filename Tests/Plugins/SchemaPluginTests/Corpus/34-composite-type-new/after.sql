CREATE TYPE postal_address AS (
    street text,
    city text,
    postcode varchar(10)
);

CREATE TABLE venues (
    id integer PRIMARY KEY,
    name text NOT NULL,
    address postal_address,
    previous_addresses postal_address[]
);
