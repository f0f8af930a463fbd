CREATE TABLE teams (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE projects (
    id integer PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE assignments (
    id integer PRIMARY KEY,
    team_id integer NOT NULL,
    project_id integer NOT NULL,
    CONSTRAINT assignments_team_fk FOREIGN KEY (team_id) REFERENCES teams (id)
);
