CREATE FUNCTION greet(who text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'Hello, ' || who $$;

CREATE FUNCTION clamp(x integer, lo integer, hi integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    IF x < lo THEN RETURN lo; END IF;
    RETURN x;
END;
$$;

CREATE FUNCTION answer()
RETURNS integer
LANGUAGE sql
AS $$ SELECT 42 $$;
