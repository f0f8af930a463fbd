CREATE TABLE secrets (
    id integer PRIMARY KEY,
    owner_name text NOT NULL
);
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY secrets_owner ON secrets USING (owner_name = current_user);

CREATE TABLE posts (
    id integer PRIMARY KEY,
    author text NOT NULL,
    hidden boolean NOT NULL DEFAULT false
);
ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE posts FORCE ROW LEVEL SECURITY;
CREATE POLICY posts_visible ON posts FOR SELECT USING (NOT hidden);

INSERT INTO secrets VALUES (1, 'ann');
INSERT INTO posts VALUES (1, 'ann', false);
