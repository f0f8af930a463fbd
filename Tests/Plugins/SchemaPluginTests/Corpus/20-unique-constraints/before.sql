CREATE TABLE members (
    id integer PRIMARY KEY,
    username text NOT NULL,
    email text NOT NULL,
    team text NOT NULL,
    badge text,
    CONSTRAINT members_badge_key UNIQUE (badge)
);

INSERT INTO members (id, username, email, team, badge) VALUES
    (1, 'ann', 'ann@example.com', 'red', 'b1'),
    (2, 'bob', 'bob@example.com', 'red', 'b1x'),
    (3, 'cat', 'cat@example.com', 'blue', NULL);
