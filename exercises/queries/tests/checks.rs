//! The checks for `queries`. Each test is one drill; its name says what a
//! right answer gets right. Run them with `cargo checker run queries`.
//!
//! Every check loads this run's university (the given migration
//! `0001_university.up.sql`, then rows generated anew every run) into a
//! fresh database of its own, runs your SQL file with the run's values for
//! `$1` and `$2`, and compares the rows with the answer worked out here in
//! Rust from the same data: no SQL in these checks knows the answer. The
//! data plants every trap each drill warns about (NULLs, ties, namesakes,
//! empty groups, month edges), so a query with one of the classic
//! mistakes returns different rows, every run. `WORKBOOK_SEED=<n>`
//! replays a run's data.
//!
//! The last check applies every migration, your
//! `0002_enrollments_month_index.up.sql` included, and reads PostgreSQL's
//! plan for drill 24's query.

/// A row of cells, from values as PostgreSQL prints them.
macro_rules! row {
    ($($v:expr),* $(,)?) => {
        vec![$(workbook::rows::Cell::cell($v)),*]
    };
}

#[path = "checks/aggregates.rs"]
mod aggregates;
#[path = "checks/dataset.rs"]
mod dataset;
#[path = "checks/drill.rs"]
mod drill;
#[path = "checks/filtering.rs"]
mod filtering;
#[path = "checks/joins.rs"]
mod joins;
#[path = "checks/ordering.rs"]
mod ordering;
#[path = "checks/plan.rs"]
mod plan;
#[path = "checks/subqueries.rs"]
mod subqueries;

use dataset::Dataset;
use drill::{Drill, dataset};
use workbook::check;

/// Every drill but the index one, in course order, built on `d`.
fn drills(d: &Dataset) -> Vec<Drill> {
    vec![
        filtering::department_courses(d),
        filtering::missing_email(d),
        filtering::outside_cohort(d),
        filtering::contact(d),
        filtering::name_search(d),
        filtering::letter_grades(d),
        filtering::cities(d),
        ordering::roll_call(d),
        ordering::gradebook(d),
        ordering::top_grades(d),
        ordering::student_page(d),
        aggregates::course_summary(d),
        aggregates::cohort_sizes(d),
        aggregates::busy_students(d),
        joins::course_roster(d),
        joins::course_headcount(d),
        joins::passed_counts(d),
        joins::department_reach(d),
        joins::mentors(d),
        joins::never_enrolled(d),
        joins::mentors_of_nobody(d),
        subqueries::above_average(d),
        subqueries::best_in_course(d),
        subqueries::month_enrollments(d),
    ]
}

// Filtering: book/src/queries/filtering.md

#[test]
fn drill_01_courses_of_a_department_worth_at_least_the_credits_asked() {
    check(async |db| filtering::department_courses(dataset()).run(&db).await);
}

#[test]
fn drill_02_students_without_an_email_are_found_with_is_null() {
    check(async |db| filtering::missing_email(dataset()).run(&db).await);
}

#[test]
fn drill_03_everyone_outside_a_cohort_includes_students_with_no_cohort() {
    check(async |db| filtering::outside_cohort(dataset()).run(&db).await);
}

#[test]
fn drill_04_every_student_gets_one_contact_address_or_none() {
    check(async |db| filtering::contact(dataset()).run(&db).await);
}

#[test]
fn drill_05_name_search_ignores_case() {
    check(async |db| filtering::name_search(dataset()).run(&db).await);
}

#[test]
fn drill_06_letter_grades_respect_the_boundaries_and_pending() {
    check(async |db| filtering::letter_grades(dataset()).run(&db).await);
}

#[test]
fn drill_07_each_known_city_appears_once() {
    check(async |db| filtering::cities(dataset()).run(&db).await);
}

// Ordering: book/src/queries/ordering.md

#[test]
fn drill_08_roll_call_orders_namesakes_by_id() {
    check(async |db| ordering::roll_call(dataset()).run(&db).await);
}

#[test]
fn drill_09_gradebook_puts_the_ungraded_last() {
    check(async |db| ordering::gradebook(dataset()).run(&db).await);
}

#[test]
fn drill_10_top_grades_keep_everyone_tied_with_the_last() {
    check(async |db| ordering::top_grades(dataset()).run(&db).await);
}

#[test]
fn drill_11_a_page_of_students_starts_where_the_last_ended() {
    check(async |db| ordering::student_page(dataset()).run(&db).await);
}

// Aggregates: book/src/queries/aggregates.md

#[test]
fn drill_12_course_summary_counts_rows_and_grades_and_averages_them() {
    check(async |db| aggregates::course_summary(dataset()).run(&db).await);
}

#[test]
fn drill_13_cohort_sizes_count_the_students_with_no_cohort_too() {
    check(async |db| aggregates::cohort_sizes(dataset()).run(&db).await);
}

#[test]
fn drill_14_busy_students_are_filtered_after_grouping() {
    check(async |db| aggregates::busy_students(dataset()).run(&db).await);
}

// Joins: book/src/queries/joins.md

#[test]
fn drill_15_course_roster_joins_students_to_their_enrollments() {
    check(async |db| joins::course_roster(dataset()).run(&db).await);
}

#[test]
fn drill_16_course_headcount_keeps_empty_courses_at_zero() {
    check(async |db| joins::course_headcount(dataset()).run(&db).await);
}

#[test]
fn drill_17_passed_counts_keep_students_who_passed_nothing() {
    check(async |db| joins::passed_counts(dataset()).run(&db).await);
}

#[test]
fn drill_18_department_reach_counts_each_student_once() {
    check(async |db| joins::department_reach(dataset()).run(&db).await);
}

#[test]
fn drill_19_every_student_is_listed_with_their_mentor_or_null() {
    check(async |db| joins::mentors(dataset()).run(&db).await);
}

#[test]
fn drill_20_students_never_enrolled_are_found_with_not_exists() {
    check(async |db| joins::never_enrolled(dataset()).run(&db).await);
}

#[test]
fn drill_21_students_who_mentor_nobody_survive_null_mentor_ids() {
    check(async |db| joins::mentors_of_nobody(dataset()).run(&db).await);
}

// Subqueries and dates: book/src/queries/subqueries.md

#[test]
fn drill_22_grades_above_the_course_average_use_that_course_only() {
    check(async |db| subqueries::above_average(dataset()).run(&db).await);
}

#[test]
fn drill_23_best_in_course_keeps_ties_and_skips_ungraded_courses() {
    check(async |db| subqueries::best_in_course(dataset()).run(&db).await);
}

#[test]
fn drill_24_a_month_of_enrollments_runs_to_its_last_evening() {
    check(async |db| subqueries::month_enrollments(dataset()).run(&db).await);
}

// Indexes: book/src/queries/indexes.md

#[test]
fn drill_25_the_month_query_reads_enrollments_through_your_index() {
    check(async |db| plan::month_query_uses_the_index(&db).await);
}
