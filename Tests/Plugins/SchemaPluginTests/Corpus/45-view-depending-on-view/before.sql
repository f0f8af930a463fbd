CREATE TABLE staff (
    id integer PRIMARY KEY,
    name text NOT NULL,
    dept text NOT NULL,
    salary integer NOT NULL
);

CREATE VIEW staff_public AS
    SELECT id, name, dept, salary FROM staff;

CREATE VIEW dept_headcount AS
    SELECT dept, count(*) AS headcount FROM staff_public GROUP BY dept;

INSERT INTO staff (id, name, dept, salary) VALUES (1, 'ann', 'ops', 100), (2, 'bob', 'dev', 200);
