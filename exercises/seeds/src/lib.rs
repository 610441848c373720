//! Exercise `seeds`: rows every database of the application needs.
//!
//! Read the chapter "Seeds" in the book first. There is no Rust to write
//! here: you write SQL files in `seeds/`, next to this crate's given
//! `migrations/`.
//!
//! - `migrations/` (given, don't edit) creates `cohorts` and `users`.
//! - `seeds/1_default_cohorts.up.sql` / `.down.sql`: the cohorts `staff`
//!   ("Staff") and `waitlist` ("Waiting list").
//! - `seeds/2_admin_user.up.sql` / `.down.sql`: the user
//!   `admin@workbook.example`, named "Workbook Admin", role `admin`, in the
//!   `staff` cohort.
//!
//! Each up file must be safe to run again on top of itself, and each down
//! file must remove exactly the rows its up file adds, never rows that
//! people created. Try them by hand on your sandbox database with
//! `cargo checker seed seeds up` and `cargo checker seed seeds down`;
//! `cargo checker run seeds` runs the checks.
