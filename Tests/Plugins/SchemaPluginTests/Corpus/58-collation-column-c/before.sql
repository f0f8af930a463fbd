CREATE TABLE words (
    id integer PRIMARY KEY,
    word text NOT NULL,
    code varchar(20) COLLATE "C"
);

CREATE INDEX words_word_idx ON words (word);

INSERT INTO words (id, word, code) VALUES (1, 'apple', 'A1'), (2, 'Banana', 'b2'), (3, 'cherry', NULL);
