CREATE TABLE posts (
    id integer PRIMARY KEY,
    title text NOT NULL,
    author_name text,
    published_on date
);

CREATE INDEX posts_author_name_idx ON posts (author_name);
CREATE INDEX posts_published_title_idx ON posts (published_on DESC, title);
