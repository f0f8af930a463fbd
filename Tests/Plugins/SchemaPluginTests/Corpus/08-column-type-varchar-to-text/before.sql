CREATE TABLE articles (
    id integer PRIMARY KEY,
    title varchar(50) NOT NULL,
    slug varchar(40) NOT NULL UNIQUE,
    summary varchar(100)
);

INSERT INTO articles (id, title, slug, summary) VALUES
    (1, 'Hello', 'hello', 'First post'),
    (2, 'Second', 'second', NULL);
