CREATE SCHEMA reporting;

CREATE TABLE reporting.snapshots (
    id integer PRIMARY KEY,
    taken_on date NOT NULL
);

CREATE VIEW reporting.latest AS
    SELECT max(taken_on) AS taken_on FROM reporting.snapshots;

CREATE TABLE public.notes (
    id integer PRIMARY KEY,
    body text,
    pinned boolean NOT NULL DEFAULT false
);

INSERT INTO reporting.snapshots (id, taken_on) VALUES (1, '2024-02-01');
