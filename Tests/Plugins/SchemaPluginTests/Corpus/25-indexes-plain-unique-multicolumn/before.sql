CREATE TABLE logins (
    id integer PRIMARY KEY,
    user_id integer NOT NULL,
    ip text NOT NULL,
    device text,
    logged_on date NOT NULL
);

CREATE INDEX logins_ip_idx ON logins (ip);

INSERT INTO logins (id, user_id, ip, device, logged_on) VALUES
    (1, 1, '10.0.0.1', 'phone', '2024-03-01'),
    (2, 2, '10.0.0.2', 'laptop', '2024-03-02');
