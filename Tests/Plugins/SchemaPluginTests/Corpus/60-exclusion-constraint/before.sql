CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE bookings (
    id integer PRIMARY KEY,
    room_id integer NOT NULL,
    during tsrange NOT NULL
);

INSERT INTO bookings (id, room_id, during) VALUES
    (1, 1, '[2024-06-01 09:00, 2024-06-01 10:00)'),
    (2, 1, '[2024-06-01 10:00, 2024-06-01 11:00)'),
    (3, 2, '[2024-06-01 09:00, 2024-06-01 12:00)');
