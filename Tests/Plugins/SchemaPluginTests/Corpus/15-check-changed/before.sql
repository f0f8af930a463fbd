CREATE TABLE reviews (
    id integer PRIMARY KEY,
    rating integer NOT NULL,
    body text,
    CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT reviews_body_check CHECK (length(body) < 500)
);

INSERT INTO reviews (id, rating, body) VALUES (1, 4, 'good'), (2, 5, 'great');
