CREATE TABLE documents (
    id integer PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamp
);

CREATE FUNCTION touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := localtimestamp;
    RETURN NEW;
END;
$$;

CREATE TRIGGER documents_touch
    BEFORE INSERT OR UPDATE ON documents
    FOR EACH ROW
    EXECUTE FUNCTION touch_updated_at();
