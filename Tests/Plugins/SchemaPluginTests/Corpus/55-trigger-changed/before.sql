CREATE TABLE accounts (
    id integer PRIMARY KEY,
    balance integer NOT NULL
);

CREATE TABLE audit_log (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id integer NOT NULL,
    old_balance integer,
    new_balance integer
);

CREATE FUNCTION log_balance()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO audit_log (account_id, old_balance, new_balance) VALUES (NEW.id, OLD.balance, NEW.balance);
    RETURN NEW;
END;
$$;

CREATE TRIGGER accounts_log_balance
    BEFORE UPDATE ON accounts
    FOR EACH ROW
    EXECUTE FUNCTION log_balance();

INSERT INTO accounts (id, balance) VALUES (1, 100), (2, 50);
