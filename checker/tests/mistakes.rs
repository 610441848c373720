//! The mistakes the course issues name, caught: each fixture under
//! `fixtures/mistakes/<slug>/<mistake>/` is a wrong answer, run through the
//! real `checker dev try`. The test asserts that the run fails, that the
//! check meant to catch the mistake is among the failures, and that its
//! message names what went wrong.
//!
//! Most fixtures hold only the file they break and are laid over the
//! solution (`--over-solution`); a fixture that removes a file is a whole
//! set of editable files instead, laid over the starter.

mod common;

use common::{checker, workspace_root};

struct Mistake {
    slug: &'static str,
    fixture: &'static str,
    /// Laid over the solution (true) or a whole answer (false).
    over_solution: bool,
    /// The check that must fail.
    check: &'static str,
    /// Words its failure report must contain.
    says: &'static [&'static str],
}

const fn m(
    slug: &'static str,
    fixture: &'static str,
    over_solution: bool,
    check: &'static str,
    says: &'static [&'static str],
) -> Mistake {
    Mistake { slug, fixture, over_solution, check, says }
}

/// Runs each mistake and returns what went wrong with any of them (all are
/// run, so one report names every miss).
fn misses(mistakes: &[Mistake]) -> Vec<String> {
    let mut misses = Vec::new();
    for m in mistakes {
        let dir = workspace_root().join("checker/tests/fixtures/mistakes").join(m.slug).join(m.fixture);
        assert!(dir.is_dir(), "missing fixture {}", dir.display());
        let mut cmd = checker();
        cmd.args(["dev", "try", m.slug]).arg(&dir).args(["--format", "json"]);
        if m.over_solution {
            cmd.arg("--over-solution");
        }
        let out = cmd.output().unwrap();
        let name = format!("{}/{}", m.slug, m.fixture);
        if out.status.code() != Some(1) {
            misses.push(format!(
                "{name}: expected exit 1 (checks failed), got {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dev try --format json prints JSON");
        let checks = run["checks"].as_array().expect("checks");
        let Some(check) = checks.iter().find(|c| c["name"] == m.check) else {
            misses.push(format!("{name}: no check named {}", m.check));
            continue;
        };
        if check["status"] != "failed" {
            misses.push(format!("{name}: {} should fail but is {}", m.check, check["status"]));
            continue;
        }
        let report = check["detail"].to_string();
        for word in m.says {
            if !report.contains(word) {
                misses.push(format!("{name}: {}'s report lacks {word:?}: {report}", m.check));
            }
        }
    }
    misses
}

#[test]
fn migration_mistakes_are_caught() {
    let misses = misses(&[
        m("first_migration", "missing_down", false, "down_leaves_the_schema_exactly_as_it_was", &["has no down file"]),
        m(
            "first_migration",
            "down_leaves_index",
            false,
            "down_leaves_the_schema_exactly_as_it_was",
            &["left behind", "students_cohort_idx"],
        ),
        m(
            "first_migration",
            "down_leaves_type",
            false,
            "down_leaves_the_schema_exactly_as_it_was",
            &["enum type cohort_season"],
        ),
        m("first_migration", "nullable_column", false, "every_column_is_not_null", &["accept NULL: cohort"]),
        m(
            "first_migration",
            "missing_default",
            false,
            "created_at_and_updated_at_default_to_now",
            &["updated_at has no default"],
        ),
        m("first_migration", "missing_unique", false, "email_is_unique", &["UNIQUE"]),
        m(
            "first_migration",
            "camel_case_column",
            false,
            "students_has_exactly_the_expected_columns",
            &["not expected: createdAt"],
        ),
        m(
            "first_migration",
            "syntax_error",
            false,
            "the_up_migration_creates_a_students_table",
            &["create_students.up.sql:4:25", "syntax error"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn crud_mistakes_are_caught() {
    let misses = misses(&[
        m("student_directory", "find_fetch_one", false, "find_with_an_unknown_id_is_none", &["Ok(None)"]),
        m("student_directory", "delete_always_true", false, "delete_with_an_unknown_id_is_false", &["Ok(false)"]),
        m(
            "student_directory",
            "no_23505",
            false,
            "duplicate_email_is_rejected_with_email_taken",
            &["EmailTaken", "23505"],
        ),
        m(
            "student_directory",
            "no_updated_at",
            false,
            "update_changes_the_fields_and_bumps_updated_at",
            &["updated_at"],
        ),
        m(
            "student_directory",
            "formatted_insert",
            false,
            "values_travel_as_bind_parameters_not_inside_the_sql",
            &["inside the SQL"],
        ),
        m(
            "student_directory",
            "order_by_name_only",
            false,
            "list_returns_every_student_ordered_by_name_then_id",
            &["in this order"],
        ),
        m("student_directory", "update_no_where", false, "update_with_an_unknown_id_is_none", &["Ok(None)"]),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn seed_and_schema_evolution_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "evolving_schema",
            "one_step_not_null",
            true,
            "step_2_adds_plan_to_a_table_that_already_has_rows",
            &["contains null values", "2_add_plan.up.sql"],
        ),
        m(
            "evolving_schema",
            "rename_breaks_old_readers",
            true,
            "step_3_lets_old_and_new_code_read_every_name",
            &["column \\\"fullname\\\" does not exist"],
        ),
        m(
            "evolving_schema",
            "index_inside_transaction",
            true,
            "step_5_does_not_block_writes_while_it_builds",
            &["lock timeout"],
        ),
        m("seeds", "non_idempotent_seed", true, "seeding_twice_leaves_exactly_the_same_rows", &["duplicate key"]),
        m(
            "seeds",
            "down_deletes_user_rows",
            true,
            "seed_down_keeps_rows_people_created",
            &["deleted or changed rows it did not create"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn association_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "associations",
            "n_plus_one",
            true,
            "users_with_posts_batched_takes_one_statement_per_collection_not_per_user",
            &["N+1", "statements:"],
        ),
        m(
            "associations",
            "inner_join_drops_childless",
            true,
            "users_with_posts_joined_keeps_users_who_have_no_posts",
            &["without posts are missing"],
        ),
        m(
            "associations",
            "missing_foreign_key",
            true,
            "every_association_is_a_foreign_key_with_its_on_delete_rule",
            &["comments.post_id: no foreign key"],
        ),
        m(
            "associations",
            "missing_index",
            true,
            "every_foreign_key_column_has_an_index",
            &["no index starts with comments.user_id"],
        ),
        m(
            "associations",
            "cartesian_join",
            true,
            "users_with_posts_and_comments_sends_no_more_rows_than_it_loads",
            &["rows over the wire"],
        ),
        m("associations", "tag_filter_trims_posts", true, "users_with_a_post_tagged_keeps_all_their_posts", &["posts"]),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn query_mistakes_are_caught() {
    // Each fixture is one wrong query (or index) laid over the solution;
    // the check meant for it must fail and name the mistake. The data is
    // generated per run with every trap planted, so these fail every run.
    let misses = misses(&[
        m(
            "queries",
            "equals_null",
            true,
            "drill_02_students_without_an_email_are_found_with_is_null",
            &["IS NULL", "never true"],
        ),
        m(
            "queries",
            "not_equal_drops_null",
            true,
            "drill_03_everyone_outside_a_cohort_includes_students_with_no_cohort",
            &["students with no cohort are missing"],
        ),
        m(
            "queries",
            "coalesce_skips_personal",
            true,
            "drill_04_every_student_gets_one_contact_address_or_none",
            &["only a personal address got 'none'"],
        ),
        m("queries", "like_is_case_sensitive", true, "drill_05_name_search_ignores_case", &["ILIKE"]),
        m(
            "queries",
            "case_else_catches_null",
            true,
            "drill_06_letter_grades_respect_the_boundaries_and_pending",
            &["Ungraded enrollments got 'F'"],
        ),
        m("queries", "distinct_keeps_null", true, "drill_07_each_known_city_appears_once", &["DISTINCT keeps NULL"]),
        m(
            "queries",
            "order_by_name_only",
            true,
            "drill_08_roll_call_orders_namesakes_by_id",
            &["share a name", "ORDER BY name, id"],
        ),
        m("queries", "desc_puts_nulls_first", true, "drill_09_gradebook_puts_the_ungraded_last", &["NULLS LAST"]),
        m(
            "queries",
            "limit_drops_ties",
            true,
            "drill_10_top_grades_keep_everyone_tied_with_the_last",
            &["LIMIT", "WITH TIES"],
        ),
        m(
            "queries",
            "offset_skips_a_page",
            true,
            "drill_11_a_page_of_students_starts_where_the_last_ended",
            &["OFFSET 0"],
        ),
        m(
            "queries",
            "count_column_for_rows",
            true,
            "drill_12_course_summary_counts_rows_and_grades_and_averages_them",
            &["count(grade) counts only"],
        ),
        m(
            "queries",
            "integer_division",
            true,
            "drill_12_course_summary_counts_rows_and_grades_and_averages_them",
            &["an integer divided by an integer"],
        ),
        m(
            "queries",
            "missing_having",
            true,
            "drill_14_busy_students_are_filtered_after_grouping",
            &["HAVING count(*) >= $1"],
        ),
        m(
            "queries",
            "wrong_join_column",
            true,
            "drill_15_course_roster_joins_students_to_their_enrollments",
            &["what each ON compares"],
        ),
        m(
            "queries",
            "inner_join_drops_empty_course",
            true,
            "drill_16_course_headcount_keeps_empty_courses_at_zero",
            &["LEFT JOIN enrollments keeps every course"],
        ),
        m(
            "queries",
            "count_star_after_left_join",
            true,
            "drill_16_course_headcount_keeps_empty_courses_at_zero",
            &["count(*) counts it"],
        ),
        m(
            "queries",
            "where_undoes_left_join",
            true,
            "drill_17_passed_counts_keep_students_who_passed_nothing",
            &["passed nothing are missing", "WHERE e.grade >= 50"],
        ),
        m(
            "queries",
            "distinct_in_the_wrong_place",
            true,
            "drill_18_department_reach_counts_each_student_once",
            &["counted twice", "count(DISTINCT e.student_id)"],
        ),
        m(
            "queries",
            "is_null_on_a_nullable_column",
            true,
            "drill_20_students_never_enrolled_are_found_with_not_exists",
            &["not yet graded"],
        ),
        m(
            "queries",
            "not_in_with_null",
            true,
            "drill_21_students_who_mentor_nobody_survive_null_mentor_ids",
            &["NOT IN", "NULL mentor_id"],
        ),
        m(
            "queries",
            "average_of_every_course",
            true,
            "drill_22_grades_above_the_course_average_use_that_course_only",
            &["every course's"],
        ),
        m(
            "queries",
            "distinct_on_drops_ties",
            true,
            "drill_23_best_in_course_keeps_ties_and_skips_ungraded_courses",
            &["share a course's best grade"],
        ),
        m("queries", "between_dates", true, "drill_24_a_month_of_enrollments_runs_to_its_last_evening", &["BETWEEN"]),
        m(
            "queries",
            "index_never_used",
            true,
            "drill_25_the_month_query_reads_enrollments_through_your_index",
            &["wraps enrolled_at"],
        ),
        m(
            "queries",
            "index_on_the_wrong_column",
            true,
            "drill_25_the_month_query_reads_enrollments_through_your_index",
            &["does not start with enrolled_at"],
        ),
        // A cheat, not a mistake: the database told never to read a table
        // straight through, so a non-sargable query walks the whole index.
        m(
            "queries",
            "planner_switched_off",
            true,
            "drill_25_the_month_query_reads_enrollments_through_your_index",
            &["wraps enrolled_at"],
        ),
        m(
            "queries",
            "no_index",
            true,
            "drill_25_the_month_query_reads_enrollments_through_your_index",
            &["only the primary key"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
