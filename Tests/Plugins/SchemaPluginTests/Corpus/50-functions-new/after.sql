CREATE TABLE prices (
    id integer PRIMARY KEY,
    amount numeric(10,2) NOT NULL
);

CREATE FUNCTION add_tax(amount numeric, rate numeric DEFAULT 0.2)
RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$ SELECT round(amount * (1 + rate), 2) $$;

CREATE FUNCTION price_total()
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    result numeric;
BEGIN
    SELECT coalesce(sum(amount), 0) INTO result FROM prices;
    RETURN result;
END;
$$;
