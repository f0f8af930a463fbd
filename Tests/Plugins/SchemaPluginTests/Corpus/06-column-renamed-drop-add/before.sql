CREATE TABLE people (
    id integer PRIMARY KEY,
    fullname text,
    city text
);

INSERT INTO people (id, fullname, city) VALUES (1, 'Ann Lee', 'Oslo'), (2, 'Bob Roe', 'Rome');
