CREATE TABLE words (
    id integer PRIMARY KEY,
    word text COLLATE "C" NOT NULL,
    code varchar(20)
);

CREATE INDEX words_word_idx ON words (word);
