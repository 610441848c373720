//! Exercise `evolving_schema`: change a table that is full of rows, while
//! the code that uses it keeps running.
//!
//! Read the chapter "Evolving a schema that holds data" in the book first.
//! There is no Rust to write here: you write the migrations in
//! `migrations/`, one file pair per step.
//!
//! - `1_create_members` (given, don't edit) creates `members`.
//! - `2_add_plan`: a NOT NULL column `plan` on a table that has rows.
//! - `3_expand_display_name`: a new column `display_name`, kept in step
//!   with `fullname`, so old code and new code both work.
//! - `4_contract_fullname`: the old column goes.
//! - `5_index_display_name`: an index built without blocking writes.
//!
//! Every file says what it must do. The checks apply your migrations one
//! version at a time to a database full of rows, insert and update rows
//! between steps the way old and new code would, then undo every step and
//! do it again. Try them by hand with `cargo checker migrate
//! evolving_schema up` and `down`; `cargo checker run evolving_schema`
//! runs the checks.
