CREATE COLLATION und_icu FROM "und-x-icu";

CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE tags (
    id integer PRIMARY KEY,
    name text COLLATE case_insensitive NOT NULL,
    sort_key text COLLATE und_icu
);

CREATE UNIQUE INDEX tags_name_key ON tags (name);
