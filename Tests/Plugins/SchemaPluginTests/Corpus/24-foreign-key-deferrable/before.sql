CREATE TABLE nodes (
    id integer PRIMARY KEY,
    next_id integer,
    owner_id integer
);

CREATE TABLE owners (
    id integer PRIMARY KEY
);

ALTER TABLE nodes ADD CONSTRAINT nodes_next_fk FOREIGN KEY (next_id) REFERENCES nodes (id);

INSERT INTO owners (id) VALUES (1);
INSERT INTO nodes (id, next_id, owner_id) VALUES (2, NULL, 1), (1, 2, 1);
