-- 001_initial.sql: the portal's first tables
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE applications (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    title text NOT NULL,
    status text NOT NULL DEFAULT 'draft',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE user_todos (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    application_id integer REFERENCES applications (id),
    category text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    CONSTRAINT user_todos_category_check CHECK (category IN ('review', 'sign', 'upload'))
);
