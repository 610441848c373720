//! Exercise `first_migration`: the `students` table, written as a
//! migration.
//!
//! There is no Rust to write here. Your work is in `migrations/`: the
//! `.up.sql` file creates the table and the `.down.sql` file undoes it.
//! Read the chapter "Tables and migrations" in the book first; the checks
//! apply your migration to a fresh database, look at the table PostgreSQL
//! built, revert it, and apply it again.
