//! Exercise `queries`: questions about a university, each answered with
//! one SQL query.
//!
//! There is no Rust to write here. Read the chapter "Querying: asking the
//! database questions" in the book first; then:
//!
//! - `drills/` holds one file per question. Each opens with the question
//!   as a comment (the columns it wants, their order, what to do with ties
//!   and NULLs, and what `$1` and `$2` stand for); write your one SQL
//!   statement under it, in place of the placeholder.
//! - `migrations/0001_university.up.sql` (given, don't edit) creates the
//!   tables. `migrations/0002_enrollments_month_index.up.sql` is yours: the
//!   index the last drill asks for.
//!
//! The checks load a university generated anew on every run into a fresh
//! database, run your SQL with the run's values for `$1` and `$2`, and
//! compare the rows with the answer they worked out themselves. Try your
//! queries by hand first: `cargo checker migrate queries up`, then
//! `cargo checker db psql queries`. `cargo checker run queries` runs the
//! checks.
