//! Listings shown in the book, each between `// ANCHOR: name` and
//! `// ANCHOR_END: name` markers and included into a chapter with
//! `{{#include}}`. Compiling this crate is what keeps the book's code real.

pub mod associations;
pub mod connect;
pub mod crud;
pub mod eager_loading;
pub mod evolving;
pub mod hooks;
pub mod http;
pub mod pagination;
pub mod pooling;
pub mod raw_sql;
pub mod seeds;
pub mod soft_delete;
pub mod transactions;
