//! Listings for the chapter "Eager loading": books with their author (the
//! belongs-to side) one query per book and in one join, then authors with
//! their books (the has-many side) folded from one `LEFT JOIN` and grouped
//! from one query per collection.

// ANCHOR: models
/// A row of `authors`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

/// A row of `books`: `author_id` is the foreign key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Book {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
}

/// An author with their books: the has-many side, assembled in Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorWithBooks {
    pub author: Author,
    pub books: Vec<Book>,
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

// ANCHOR: fold
/// One row of `authors LEFT JOIN books`. For an author with no books the
/// book's columns are NULL, so they are `Option`s.
#[derive(sqlx::FromRow)]
struct AuthorBookRow {
    author_id: i64,
    name: String,
    book_id: Option<i64>,
    title: Option<String>,
}

/// Every author, in id order, with their books, in one statement.
pub async fn authors_with_books_joined(pool: &PgPool) -> Result<Vec<AuthorWithBooks>, sqlx::Error> {
    let rows: Vec<AuthorBookRow> = sqlx::query_as(
        "SELECT a.id AS author_id, a.name, b.id AS book_id, b.title
         FROM authors a
         LEFT JOIN books b ON b.author_id = a.id
         ORDER BY a.id, b.id",
    )
    .fetch_all(pool)
    .await?;

    let mut out: Vec<AuthorWithBooks> = Vec::new();
    for row in rows {
        // ORDER BY a.id puts an author's rows next to each other, so a
        // new author id is the only sign that a new author starts.
        let starts_new_author = match out.last() {
            Some(last) => last.author.id != row.author_id,
            None => true,
        };
        if starts_new_author {
            let author = Author { id: row.author_id, name: row.name };
            out.push(AuthorWithBooks { author, books: Vec::new() });
        }
        // The NULL row of an author with no books adds no book.
        if let (Some(id), Some(title), Some(current)) = (row.book_id, row.title, out.last_mut()) {
            current.books.push(Book { id, author_id: row.author_id, title });
        }
    }
    Ok(out)
}
// ANCHOR_END: fold

// ANCHOR: separate
use std::collections::HashMap;

/// The authors whose ids are in `ids`, in id order, with their books, in
/// two statements whatever the number of authors.
pub async fn authors_with_books_separate(pool: &PgPool, ids: &[i64]) -> Result<Vec<AuthorWithBooks>, sqlx::Error> {
    let authors: Vec<Author> =
        sqlx::query_as("SELECT id, name FROM authors WHERE id = ANY($1) ORDER BY id").bind(ids).fetch_all(pool).await?;

    // A Rust slice binds as a PostgreSQL array: one parameter, any length.
    let author_ids: Vec<i64> = authors.iter().map(|a| a.id).collect();
    let books: Vec<Book> =
        sqlx::query_as("SELECT id, author_id, title FROM books WHERE author_id = ANY($1) ORDER BY id")
            .bind(&author_ids)
            .fetch_all(pool)
            .await?;

    // Group the children by their foreign key, keeping their order...
    let mut by_author: HashMap<i64, Vec<Book>> = HashMap::new();
    for book in books {
        by_author.entry(book.author_id).or_default().push(book);
    }
    // ...and hand each parent its group, or an empty one.
    Ok(authors
        .into_iter()
        .map(|author| AuthorWithBooks { books: by_author.remove(&author.id).unwrap_or_default(), author })
        .collect())
}
// ANCHOR_END: separate

#[cfg(test)]
mod tests {
    use super::*;
    use workbook::check;

    /// Authors with `a % 3` books each (so every third has none), in a
    /// database of their own. Returns how many books there are.
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
            for _ in 0..(a % 3) {
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

    /// The chapter's claims about the belongs-to side: the same answer two
    /// ways, in N+1 and in 1 statement.
    #[test]
    fn books_with_their_author_one_by_one_and_joined_agree() {
        check(async |db| {
            let books = library(db.pool(), 7).await;
            let app = db.app_pool();
            let (slow, slow_stmts) = db.wire().during(books_with_authors_one_by_one(app)).await;
            let (joined, joined_stmts) = db.wire().during(books_with_authors_joined(app)).await;
            let slow = slow.unwrap();
            assert_eq!(slow.len(), books);
            assert_eq!(joined.unwrap(), slow);
            assert_eq!(slow_stmts.len(), books + 1, "{}", slow_stmts.describe(3));
            assert_eq!(joined_stmts.len(), 1, "{}", joined_stmts.describe(3));
        });
    }

    /// The has-many side: the fold and the grouping give every author,
    /// those with no books included, with exactly their books, in 1 and 2
    /// statements; the second query sends each book once.
    #[test]
    fn authors_with_their_books_folded_and_grouped_agree() {
        check(async |db| {
            let books = library(db.pool(), 9).await;
            let app = db.app_pool();
            let (folded, fold_stmts) = db.wire().during(authors_with_books_joined(app)).await;
            let folded = folded.unwrap();
            assert_eq!(folded.len(), 9, "every author, with or without books");
            assert_eq!(folded.iter().filter(|a| a.books.is_empty()).count(), 3);
            assert_eq!(folded.iter().map(|a| a.books.len()).sum::<usize>(), books);
            for a in &folded {
                assert!(a.books.iter().all(|b| b.author_id == a.author.id), "{a:?}");
                assert!(a.books.is_sorted_by_key(|b| b.id), "{a:?}");
            }
            assert!(folded.is_sorted_by_key(|a| a.author.id));
            assert_eq!(fold_stmts.len(), 1, "{}", fold_stmts.describe(3));

            // Every other author, asked for out of order.
            let mut ids: Vec<i64> = folded.iter().step_by(2).map(|a| a.author.id).collect();
            ids.reverse();
            let (grouped, group_stmts) = db.wire().during(authors_with_books_separate(app, &ids)).await;
            let want: Vec<AuthorWithBooks> = folded.iter().step_by(2).cloned().collect();
            assert_eq!(grouped.unwrap(), want);
            assert_eq!(group_stmts.len(), 2, "{}", group_stmts.describe(3));
            let wanted_books: usize = want.iter().map(|a| a.books.len()).sum();
            assert_eq!(group_stmts.queries()[1].rows_returned, wanted_books as u64);
        });
    }
}
