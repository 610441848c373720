//! Listings for the chapter "Associations: foreign keys": a struct per
//! table of the library, and the two sides of one foreign key read back
//! in Rust (a book belongs to its author, an author has many books). The
//! chapter "Eager loading" loads the same tables many parents at a time.

// ANCHOR: models
/// A row of `authors`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

/// A row of `books`. `author_id` is the association: the foreign key.
/// `series_id` may be NULL (a book outside any series, or one whose
/// series was deleted: `ON DELETE SET NULL`), so it is an `Option`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Book {
    pub id: i64,
    pub author_id: i64,
    pub series_id: Option<i64>,
    pub title: String,
}
// ANCHOR_END: models

// ANCHOR: belongs_to
use sqlx::PgPool;

/// Belongs-to: the author of book `book_id`, or `None` when there is no
/// such book. The book's row holds the key, and the join follows it.
pub async fn author_of(pool: &PgPool, book_id: i64) -> Result<Option<Author>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.name
         FROM books b
         JOIN authors a ON a.id = b.author_id
         WHERE b.id = $1",
    )
    .bind(book_id)
    .fetch_optional(pool)
    .await
}
// ANCHOR_END: belongs_to

// ANCHOR: has_many
/// Has-many: the books of author `author_id`, in id order. An author with
/// no books gets an empty `Vec`, not an error.
pub async fn books_by(pool: &PgPool, author_id: i64) -> Result<Vec<Book>, sqlx::Error> {
    sqlx::query_as("SELECT id, author_id, series_id, title FROM books WHERE author_id = $1 ORDER BY id")
        .bind(author_id)
        .fetch_all(pool)
        .await
}
// ANCHOR_END: has_many

#[cfg(test)]
mod tests {
    use super::*;
    use workbook::check;

    /// The chapter's claims: each side of the foreign key reads back what
    /// the other side wrote; a missing book is `None`, an author with no
    /// books an empty `Vec`, and a series deleted under `SET NULL` comes
    /// back as `None`.
    #[test]
    fn both_sides_of_the_foreign_key_read_back() {
        check(async |db| {
            let pool = db.pool();
            sqlx::raw_sql(
                "CREATE TABLE authors (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
                 CREATE TABLE series (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
                 CREATE TABLE books (
                     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     author_id bigint NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
                     series_id bigint REFERENCES series (id) ON DELETE SET NULL,
                     title text NOT NULL);
                 INSERT INTO authors (name) VALUES ('Ada'), ('Bram'), ('Dev');
                 INSERT INTO series (name) VALUES ('Tidewater');
                 INSERT INTO books (author_id, series_id, title)
                     VALUES (1, 1, 'The Salt Road'), (2, NULL, 'Paper Moons'), (2, 1, 'Copper Bells');
                 DELETE FROM series;",
            )
            .execute(pool)
            .await
            .unwrap();
            let app = db.app_pool();
            let bram = Author { id: 2, name: "Bram".into() };
            assert_eq!(author_of(app, 3).await.unwrap(), Some(bram));
            assert_eq!(author_of(app, 99).await.unwrap(), None);
            let books = books_by(app, 2).await.unwrap();
            assert_eq!(books.iter().map(|b| b.id).collect::<Vec<_>>(), [2, 3]);
            assert!(books.iter().all(|b| b.series_id.is_none()), "{books:?}");
            assert!(books_by(app, 3).await.unwrap().is_empty());
        });
    }
}
