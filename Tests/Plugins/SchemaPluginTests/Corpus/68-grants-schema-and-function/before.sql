-- Roles belong to the server: made once, whichever case gets there first (cases run side by side).
DO $$
BEGIN
    CREATE ROLE tmeops_corpus_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE SCHEMA app;

CREATE TABLE app.reports (
    id integer PRIMARY KEY,
    title text NOT NULL
);

CREATE SEQUENCE app.report_numbers;

CREATE FUNCTION app.report_count() RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM app.reports $$;
