CREATE TYPE mood AS ENUM ('sad', 'happy');

CREATE TABLE diary (
    id integer PRIMARY KEY,
    feeling mood,
    CONSTRAINT diary_id_positive CHECK (id > 0)
);

CREATE INDEX diary_feeling_idx ON diary (feeling);

CREATE FUNCTION double_it(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;

COMMENT ON TYPE mood IS 'How the writer felt';
COMMENT ON CONSTRAINT diary_id_positive ON diary IS 'Ids start at 1';
COMMENT ON INDEX diary_feeling_idx IS 'For mood reports';
COMMENT ON FUNCTION double_it(integer) IS 'Returns x * 2';
