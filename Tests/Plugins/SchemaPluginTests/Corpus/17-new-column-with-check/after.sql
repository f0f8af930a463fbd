CREATE TABLE employees (
    id integer PRIMARY KEY,
    name text NOT NULL,
    salary numeric(10,2) NOT NULL DEFAULT 0 CHECK (salary >= 0),
    level integer,
    CONSTRAINT employees_level_range CHECK (level BETWEEN 1 AND 9)
);
