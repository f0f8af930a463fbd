CREATE SCHEMA app;

CREATE TABLE app.audit_events (
    id integer PRIMARY KEY,
    action text NOT NULL
);

CREATE INDEX audit_events_action_idx ON app.audit_events (action);
