CREATE TABLE reviews (
    id integer PRIMARY KEY,
    rating integer NOT NULL,
    body text,
    CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 10),
    CONSTRAINT reviews_body_check CHECK (length(body) < 2000 AND body <> '')
);
