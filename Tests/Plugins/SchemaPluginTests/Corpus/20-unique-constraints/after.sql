CREATE TABLE members (
    id integer PRIMARY KEY,
    username text NOT NULL UNIQUE,
    email text NOT NULL,
    team text NOT NULL,
    badge text,
    CONSTRAINT members_team_email_key UNIQUE (team, email)
);
