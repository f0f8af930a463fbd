CREATE TABLE public.users (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE SCHEMA app;

CREATE TYPE app.job_state AS ENUM ('queued', 'running', 'done');

CREATE TABLE app.jobs (
    id integer PRIMARY KEY,
    owner_id integer NOT NULL REFERENCES public.users (id),
    state app.job_state NOT NULL DEFAULT 'queued'
);

CREATE INDEX jobs_owner_id_idx ON app.jobs (owner_id);

CREATE VIEW app.queued_jobs AS
    SELECT id, owner_id FROM app.jobs WHERE state = 'queued';
