CREATE TABLE staff (
    id integer PRIMARY KEY,
    name text NOT NULL,
    dept text NOT NULL,
    salary integer NOT NULL
);

CREATE VIEW staff_public AS
    SELECT id, name, dept FROM staff;

CREATE VIEW dept_headcount AS
    SELECT dept, count(*) AS headcount FROM staff_public GROUP BY dept;
