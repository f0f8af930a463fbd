DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tmeops_corpus_reader') THEN
        CREATE ROLE tmeops_corpus_reader NOLOGIN;
    END IF;
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
