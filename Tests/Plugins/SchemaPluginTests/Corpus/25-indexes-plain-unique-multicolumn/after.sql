CREATE TABLE logins (
    id integer PRIMARY KEY,
    user_id integer NOT NULL,
    ip text NOT NULL,
    device text,
    logged_on date NOT NULL
);

CREATE INDEX logins_user_id_idx ON logins (user_id);
CREATE UNIQUE INDEX logins_user_day_key ON logins (user_id, logged_on);
CREATE INDEX logins_day_ip_idx ON logins (logged_on DESC, ip);
