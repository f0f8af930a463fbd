CREATE TABLE settings (
    id integer PRIMARY KEY,
    theme text NOT NULL DEFAULT 'light',
    page_size integer NOT NULL DEFAULT 20,
    ratio numeric(4,2) DEFAULT 1.00
);

INSERT INTO settings (id) VALUES (1), (2);
