//! Listings for the chapter "Associations and eager loading". They load
//! books with their author (the belongs-to side) three ways: one query per
//! book, one join, one query per collection. The exercise asks for the
//! other side (a user has many posts), so it is left for the reader.

// ANCHOR: models
/// A row of `authors`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

/// A row of `books`. `author_id` is the association: the foreign key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Book {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
}
// ANCHOR_END: models

// ANCHOR: one_by_one
use sqlx::PgPool;

/// Every book with its author. Correct, and slow: one query for the
/// books, then one more for every book.
pub async fn books_with_authors_one_by_one(pool: &PgPool) -> Result<Vec<(Book, Author)>, sqlx::Error> {
    let books: Vec<Book> = sqlx::query_as("SELECT id, author_id, title FROM books ORDER BY id").fetch_all(pool).await?;
    let mut out = Vec::with_capacity(books.len());
    for book in books {
        let author: Author =
            sqlx::query_as("SELECT id, name FROM authors WHERE id = $1").bind(book.author_id).fetch_one(pool).await?;
        out.push((book, author));
    }
    Ok(out)
}
// ANCHOR_END: one_by_one

// ANCHOR: joined
/// One row of `books JOIN authors`: the columns of both, renamed where
/// both tables have a column of the same name.
#[derive(sqlx::FromRow)]
struct BookAuthorRow {
    book_id: i64,
    author_id: i64,
    title: String,
    author_name: String,
}

/// Every book with its author, in one statement.
pub async fn books_with_authors_joined(pool: &PgPool) -> Result<Vec<(Book, Author)>, sqlx::Error> {
    let rows: Vec<BookAuthorRow> = sqlx::query_as(
        "SELECT b.id AS book_id, b.author_id, b.title, a.name AS author_name
         FROM books b
         JOIN authors a ON a.id = b.author_id
         ORDER BY b.id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let author = Author { id: r.author_id, name: r.author_name };
            (Book { id: r.book_id, author_id: r.author_id, title: r.title }, author)
        })
        .collect())
}
// ANCHOR_END: joined

// ANCHOR: separate
use std::collections::HashMap;

/// Every book with its author, in two statements: the books, then every
/// author they mention, fetched at once with `= ANY($1)`.
pub async fn books_with_authors_separate(pool: &PgPool) -> Result<Vec<(Book, Author)>, sqlx::Error> {
    let books: Vec<Book> = sqlx::query_as("SELECT id, author_id, title FROM books ORDER BY id").fetch_all(pool).await?;

    let mut author_ids: Vec<i64> = books.iter().map(|b| b.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    // A Rust slice binds as a PostgreSQL array: one parameter, any length.
    let authors: Vec<Author> =
        sqlx::query_as("SELECT id, name FROM authors WHERE id = ANY($1)").bind(&author_ids).fetch_all(pool).await?;

    let by_id: HashMap<i64, Author> = authors.into_iter().map(|a| (a.id, a)).collect();
    Ok(books
        .into_iter()
        .filter_map(|book| {
            let author = by_id.get(&book.author_id)?.clone();
            Some((book, author))
        })
        .collect())
}
// ANCHOR_END: separate

#[cfg(test)]
mod tests {
    use super::*;
    use workbook::check;

    async fn library(pool: &PgPool, authors: usize) -> usize {
        sqlx::raw_sql(
            "CREATE TABLE authors (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
             CREATE TABLE books (
                 id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 author_id bigint NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
                 title text NOT NULL);",
        )
        .execute(pool)
        .await
        .unwrap();
        let mut books = 0;
        for a in 0..authors {
            let id: i64 = sqlx::query_scalar("INSERT INTO authors (name) VALUES ($1) RETURNING id")
                .bind(workbook::data::name())
                .fetch_one(pool)
                .await
                .unwrap();
            for _ in 0..=(a % 3) {
                sqlx::query("INSERT INTO books (author_id, title) VALUES ($1, $2)")
                    .bind(id)
                    .bind(workbook::data::word(8))
                    .execute(pool)
                    .await
                    .unwrap();
                books += 1;
            }
        }
        books
    }

    /// The chapter's claims: the same answer three ways, in N+1, 1 and 2
    /// statements.
    #[test]
    fn the_three_loaders_agree_and_send_the_statements_the_chapter_says() {
        check(async |db| {
            let books = library(db.pool(), 7).await;
            let app = db.app_pool();
            let (slow, slow_stmts) = db.wire().during(books_with_authors_one_by_one(app)).await;
            let (joined, joined_stmts) = db.wire().during(books_with_authors_joined(app)).await;
            let (separate, separate_stmts) = db.wire().during(books_with_authors_separate(app)).await;
            let slow = slow.unwrap();
            assert_eq!(slow.len(), books);
            assert_eq!(joined.unwrap(), slow);
            assert_eq!(separate.unwrap(), slow);

            assert_eq!(slow_stmts.len(), books + 1, "{}", slow_stmts.describe(3));
            assert_eq!(joined_stmts.len(), 1, "{}", joined_stmts.describe(3));
            assert_eq!(separate_stmts.len(), 2, "{}", separate_stmts.describe(3));
            // The second query fetches each author once, not once per book.
            assert_eq!(separate_stmts.queries()[1].rows_returned, 7);
        });
    }
}
