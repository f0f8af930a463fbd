CREATE DOMAIN email_address AS text
    CONSTRAINT email_address_check CHECK (VALUE LIKE '%_@_%');

CREATE DOMAIN positive_int AS integer NOT NULL DEFAULT 1
    CONSTRAINT positive_int_check CHECK (VALUE > 0);

CREATE TABLE subscribers (
    id integer PRIMARY KEY,
    email email_address NOT NULL,
    frequency positive_int
);
