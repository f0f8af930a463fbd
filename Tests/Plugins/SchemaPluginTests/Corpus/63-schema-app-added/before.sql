CREATE TABLE public.users (
    id integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO public.users (id, name) VALUES (1, 'ann'), (2, 'bob');
