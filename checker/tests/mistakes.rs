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
fn connect_mistakes_are_caught() {
    let misses = misses(&[m(
        "connect",
        "health_check_asks_nothing",
        true,
        "health_check_passes_on_a_live_pool",
        &["without a query answered by the server", "SELECT 1"],
    )]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
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
        // A table with only email: every check of the whole table fails,
        // not only the one listing the columns.
        m("first_migration", "only_email", false, "every_column_is_not_null", &["missing: id, name, cohort"]),
        m("first_migration", "only_email", false, "email_is_unique", &["missing: id, name, cohort"]),
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
        m(
            "student_directory",
            "hex_encoded_insert",
            true,
            "values_travel_as_bind_parameters_not_inside_the_sql",
            &["inside the SQL text", "decode("],
        ),
        m(
            "student_directory",
            "find_filters_in_rust",
            true,
            "find_returns_the_student_with_that_id",
            &["one SELECT with the id", "row(s) back"],
        ),
        m(
            "student_directory",
            "list_sorted_in_rust",
            true,
            "list_returns_every_student_ordered_by_name_then_id",
            &["in the order the server sent them", "ORDER BY"],
        ),
        m(
            "student_directory",
            "email_checked_before_insert",
            true,
            "duplicate_email_is_rejected_with_email_taken",
            &["refused by the unique index", "without the database refusing"],
        ),
        m(
            "student_directory",
            "every_refusal_is_email_taken",
            true,
            "duplicate_email_is_rejected_with_email_taken",
            &["23514", "Map only SQLSTATE 23505"],
        ),
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
fn student_api_mistakes_are_caught() {
    let s = "student_api";
    let misses = misses(&[
        m(s, "created_200", true, "post_creates_a_student_answering_201_with_its_location", &["201 Created", "200 OK"]),
        m(s, "missing_404", true, "get_returns_the_stored_student_and_404_for_an_unknown_id", &["404", "body: null"]),
        m(s, "panic_on_bad_json", true, "malformed_json_and_wrong_types_are_400_naming_the_field", &["panicked"]),
        m(
            s,
            "taken_email_500",
            true,
            "a_taken_email_is_409_even_when_two_requests_race_for_it",
            &["409", "EmailTaken"],
        ),
        m(
            s,
            "keeps_one_connection",
            true,
            "a_database_that_goes_away_gives_a_json_error_and_the_server_recovers",
            &["after the database came back", "from the pool"],
        ),
        m(
            s,
            "unwrap_database_errors",
            true,
            "a_database_that_goes_away_gives_a_json_error_and_the_server_recovers",
            &["panicked", "the database answers"],
        ),
        m(s, "offset_paging", true, "the_listing_pages_by_keyset_with_no_student_skipped_or_repeated", &["skipped"]),
        m(s, "paging_in_rust", true, "the_listing_pages_by_keyset_with_no_student_skipped_or_repeated", &["rows read"]),
        m(s, "global_pool", true, "each_app_uses_the_pool_it_was_given", &["global"]),
        m(s, "pool_of_one", true, "one_slow_request_does_not_hold_up_the_others", &["within 2 s", "held up"]),
        m(s, "plain_text_errors", true, "every_error_is_a_json_body_never_html_or_plain_text", &["text/plain"]),
        m(s, "no_validation", true, "invalid_values_are_400_naming_the_field", &["201 Created", "name"]),
        m(s, "axum_rejections", true, "malformed_json_and_wrong_types_are_400_naming_the_field", &["text/plain"]),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn capstone_mistakes_are_caught() {
    let c = "capstone";
    let misses = misses(&[
        m(
            c,
            "oversell",
            true,
            "the_last_seats_are_never_oversold_under_concurrent_requests",
            &["module 9", "201, 201"],
        ),
        m(
            c,
            "total_counts_joined_rows",
            true,
            "the_course_listing_pages_with_a_total_that_counts_courses_not_enrollments",
            &["module 11", "the number of courses"],
        ),
        m(
            c,
            "audit_outside_transaction",
            true,
            "every_enrollment_change_is_audited_in_the_same_transaction",
            &["module 8", "same transaction"],
        ),
        m(
            c,
            "hard_delete",
            true,
            "deleting_a_student_is_a_soft_delete_that_frees_the_email_and_the_seats",
            &["hard delete"],
        ),
        m(
            c,
            "email_unique_for_ever",
            true,
            "deleting_a_student_is_a_soft_delete_that_frees_the_email_and_the_seats",
            &["module 7", "WHERE deleted_at IS NULL"],
        ),
        m(c, "listing_n_plus_one", true, "listing_courses_loads_their_counts_without_a_query_per_course", &["N+1"]),
        m(c, "pool_without_timeout", true, "the_pool_is_configured_for_a_server", &["module 12", "statement_timeout"]),
        m(c, "rename_in_one_step", true, "the_rename_is_an_expand_then_a_contract_that_keeps_every_row", &["one step"]),
        m(
            c,
            "edited_given_migration",
            true,
            "the_rename_is_an_expand_then_a_contract_that_keeps_every_row",
            &["must not change"],
        ),
        m(
            c,
            "seed_without_on_conflict",
            true,
            "the_seed_loads_the_catalogue_once_however_often_it_runs",
            &["ON CONFLICT"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
