CREATE TABLE page_views (
    id integer PRIMARY KEY,
    path text NOT NULL,
    viewed_on date NOT NULL
);

INSERT INTO page_views (id, path, viewed_on) VALUES
    (1, '/', '2024-01-01'), (2, '/about', '2024-01-01'), (3, '/', '2024-01-02');
