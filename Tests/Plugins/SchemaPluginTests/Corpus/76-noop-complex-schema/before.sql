CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA app;
CREATE TYPE app.status AS ENUM ('draft', 'live', 'archived');
CREATE DOMAIN app.slug AS text CONSTRAINT slug_check CHECK (VALUE ~ '^[a-z0-9-]+$');
CREATE TABLE app.authors (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email citext NOT NULL UNIQUE,
    name text NOT NULL COLLATE "C"
);
CREATE TABLE app.posts (
    id serial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES app.authors (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    slug app.slug NOT NULL,
    status app.status NOT NULL DEFAULT 'draft',
    body jsonb NOT NULL DEFAULT '{}',
    words integer NOT NULL DEFAULT 0 CHECK (words >= 0),
    reading_minutes integer GENERATED ALWAYS AS (words / 200) STORED,
    CONSTRAINT posts_slug_key UNIQUE (author_id, slug)
);
CREATE INDEX posts_live_idx ON app.posts (author_id) WHERE status = 'live';
CREATE INDEX posts_body_idx ON app.posts USING gin (body);
CREATE VIEW app.live_posts AS SELECT id, author_id, slug FROM app.posts WHERE status = 'live';
CREATE FUNCTION app.count_words(t text) RETURNS integer LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce(array_length(regexp_split_to_array(trim(t), '\s+'), 1), 0) $$;
CREATE FUNCTION app.posts_set_words() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN NEW.words := app.count_words(NEW.body ->> 'text'); RETURN NEW; END; $$;
CREATE TRIGGER posts_set_words BEFORE INSERT OR UPDATE OF body ON app.posts
    FOR EACH ROW EXECUTE FUNCTION app.posts_set_words();
COMMENT ON TABLE app.posts IS 'Blog posts';
COMMENT ON COLUMN app.posts.slug IS 'URL part';
INSERT INTO app.authors (email, name) VALUES ('Ann@Example.com', 'Ann');
INSERT INTO app.posts (author_id, slug, status, body) VALUES (1, 'hello-world', 'live', '{"text": "hello big world"}');
