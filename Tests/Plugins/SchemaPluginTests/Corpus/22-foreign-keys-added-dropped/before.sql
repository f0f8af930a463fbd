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
    CONSTRAINT assignments_project_fk FOREIGN KEY (project_id) REFERENCES projects (id)
);

INSERT INTO teams (id, name) VALUES (1, 'core'), (2, 'web');
INSERT INTO projects (id, name) VALUES (1, 'alpha');
INSERT INTO assignments (id, team_id, project_id) VALUES (1, 1, 1), (2, 2, 1);
