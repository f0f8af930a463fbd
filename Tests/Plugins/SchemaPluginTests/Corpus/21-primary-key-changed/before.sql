CREATE TABLE memberships (
    id integer NOT NULL,
    org_id integer NOT NULL,
    user_id integer NOT NULL,
    role text NOT NULL,
    CONSTRAINT memberships_pkey PRIMARY KEY (id)
);

INSERT INTO memberships (id, org_id, user_id, role) VALUES
    (1, 1, 1, 'owner'), (2, 1, 2, 'member'), (3, 2, 1, 'member');
