CREATE TABLE secrets (
    id integer PRIMARY KEY,
    owner_name text NOT NULL
);
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY secrets_owner ON secrets AS RESTRICTIVE FOR UPDATE USING (owner_name = current_user) WITH CHECK (owner_name = current_user);
CREATE POLICY secrets_read ON secrets FOR SELECT USING (true);

-- Row-level security off again, its policy gone, and the column it read dropped.
CREATE TABLE posts (
    id integer PRIMARY KEY,
    author text NOT NULL
);
