CREATE FUNCTION greet(who text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'Hi, ' || who || '!' $$;

CREATE FUNCTION clamp(x integer, lo integer, hi integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT
AS $$
BEGIN
    IF x < lo THEN RETURN lo; END IF;
    IF x > hi THEN RETURN hi; END IF;
    RETURN x;
END;
$$;

CREATE FUNCTION answer()
RETURNS bigint
LANGUAGE sql
AS $$ SELECT 42::bigint $$;
