CREATE SCHEMA app;

CREATE TABLE app.settings (
    key text PRIMARY KEY,
    value text,
    updated_on date
);

CREATE TABLE public.settings (
    key text PRIMARY KEY,
    value text NOT NULL DEFAULT ''
);
