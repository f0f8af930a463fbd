CREATE TABLE page_views (
    id integer PRIMARY KEY,
    path text NOT NULL,
    viewed_on date NOT NULL
);

CREATE MATERIALIZED VIEW daily_page_views AS
    SELECT viewed_on, path, count(*) AS views
    FROM page_views
    GROUP BY viewed_on, path;

CREATE UNIQUE INDEX daily_page_views_key ON daily_page_views (viewed_on, path);
CREATE INDEX daily_page_views_path_idx ON daily_page_views (path);
