CREATE SCHEMA app;

CREATE TABLE app.settings (
    key text PRIMARY KEY,
    value text
);

CREATE TABLE app.obsolete (
    id integer PRIMARY KEY
);

CREATE TABLE public.settings (
    key text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO app.settings (key, value) VALUES ('mode', 'fast');
INSERT INTO public.settings (key, value) VALUES ('theme', 'dark');
