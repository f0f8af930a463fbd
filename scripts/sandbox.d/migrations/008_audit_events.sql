CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    user_id integer REFERENCES users (id),
    action text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
