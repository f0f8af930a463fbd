CREATE SCHEMA app;

CREATE TABLE public.audit_events (
    id integer PRIMARY KEY,
    action text NOT NULL
);

CREATE INDEX audit_events_action_idx ON public.audit_events (action);

INSERT INTO public.audit_events (id, action) VALUES (1, 'login'), (2, 'logout');
