CREATE TABLE settings (
    id integer PRIMARY KEY,
    theme text NOT NULL DEFAULT 'dark',
    page_size integer NOT NULL DEFAULT 50,
    ratio numeric(4,2) DEFAULT 1.50
);
