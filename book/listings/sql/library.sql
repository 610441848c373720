-- The sample library of the chapter "Eager loading": the authors, books
-- and genres the chapter "Associations: foreign keys" built, as they stood
-- at its end, in one go.

-- ANCHOR: all
-- Safe to run again: it drops the tables first.
DROP TABLE IF EXISTS awards, book_genres, genres, books, series, authors;

CREATE TABLE authors (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE books (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    title     text NOT NULL
);
CREATE INDEX books_author_id_idx ON books (author_id);

CREATE TABLE genres (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);

CREATE TABLE book_genres (
    book_id  bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    genre_id bigint NOT NULL REFERENCES genres (id) ON DELETE RESTRICT,
    PRIMARY KEY (book_id, genre_id)
);
CREATE INDEX book_genres_genre_id_idx ON book_genres (genre_id);

INSERT INTO authors (name) VALUES
    ('Ada Quill'), ('Bram Inkwell'), ('Cora Vellum'), ('Dev Folio');

INSERT INTO books (author_id, title) VALUES
    (1, 'The Salt Road'), (1, 'Night Ferry'),
    (2, 'Paper Moons'), (2, 'The Long Ledger'), (2, 'Copper Bells'),
    (3, 'Glass Orchard');

INSERT INTO genres (name) VALUES ('fantasy'), ('mystery'), ('satire');
INSERT INTO book_genres (book_id, genre_id) VALUES
    (1, 1), (2, 2), (3, 1), (3, 3), (4, 2), (4, 3), (5, 1), (6, 2);
-- ANCHOR_END: all
