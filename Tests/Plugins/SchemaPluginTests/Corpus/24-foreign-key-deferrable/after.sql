CREATE TABLE nodes (
    id integer PRIMARY KEY,
    next_id integer,
    owner_id integer
);

CREATE TABLE owners (
    id integer PRIMARY KEY
);

ALTER TABLE nodes ADD CONSTRAINT nodes_next_fk FOREIGN KEY (next_id) REFERENCES nodes (id)
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE nodes ADD CONSTRAINT nodes_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id)
    DEFERRABLE INITIALLY IMMEDIATE;
