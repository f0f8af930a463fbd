CREATE TABLE articles (
    id integer PRIMARY KEY,
    title text NOT NULL,
    slug varchar(80) NOT NULL UNIQUE,
    summary text
);
