CREATE TABLE public.notes (
    id integer PRIMARY KEY,
    body text,
    pinned boolean NOT NULL DEFAULT false
);
