//! The mistakes the course issues name, caught: each fixture under
//! `fixtures/mistakes/<slug>/<mistake>/` is a wrong answer, run through the
//! real `checker dev try`. The test asserts that the run fails, that the
//! check meant to catch the mistake is among the failures, and that its
//! message names what went wrong.
//!
//! Most fixtures hold only the file they break and are laid over the
//! solution (`OVER_SOLUTION`); a fixture that removes a file is a whole
//! set of editable files instead, laid over the starter (`WHOLE`).
//!
//! One table and one test per exercise: a new wrong answer is a fixture
//! directory and one line in its exercise's table.

use crate::common;

use common::{checker, workspace_root};

struct Mistake {
    /// The fixture's directory under `fixtures/mistakes/<slug>/`.
    fixture: &'static str,
    /// Laid over the solution (`OVER_SOLUTION`) or a whole answer (`WHOLE`).
    over_solution: bool,
    /// The check that must fail.
    check: &'static str,
    /// Words its failure report must contain.
    says: &'static [&'static str],
}

const OVER_SOLUTION: bool = true;
const WHOLE: bool = false;

const fn m(fixture: &'static str, over_solution: bool, check: &'static str, says: &'static [&'static str]) -> Mistake {
    Mistake { fixture, over_solution, check, says }
}

const FIRST_MIGRATION: &[Mistake] = &[
    m("missing_down", WHOLE, "down_leaves_the_schema_exactly_as_it_was", &["has no down file"]),
    m("down_leaves_index", WHOLE, "down_leaves_the_schema_exactly_as_it_was", &["left behind", "students_cohort_idx"]),
    m("down_leaves_type", WHOLE, "down_leaves_the_schema_exactly_as_it_was", &["enum type cohort_season"]),
    m("nullable_column", WHOLE, "every_column_is_not_null", &["accept NULL: cohort"]),
    m("missing_default", WHOLE, "created_at_and_updated_at_default_to_now", &["updated_at has no default"]),
    m("missing_unique", WHOLE, "email_is_unique", &["UNIQUE"]),
    m("camel_case_column", WHOLE, "students_has_exactly_the_expected_columns", &["not expected: createdAt"]),
    m(
        "syntax_error",
        WHOLE,
        "the_up_migration_creates_a_students_table",
        &["create_students.up.sql:4:25", "syntax error"],
    ),
];

const STUDENT_DIRECTORY: &[Mistake] = &[
    m("find_fetch_one", WHOLE, "find_with_an_unknown_id_is_none", &["Ok(None)"]),
    m("delete_always_true", WHOLE, "delete_with_an_unknown_id_is_false", &["Ok(false)"]),
    m("no_23505", WHOLE, "duplicate_email_is_rejected_with_email_taken", &["EmailTaken", "23505"]),
    m("no_updated_at", WHOLE, "update_changes_the_fields_and_bumps_updated_at", &["updated_at"]),
    m("formatted_insert", WHOLE, "values_travel_as_bind_parameters_not_inside_the_sql", &["inside the SQL"]),
    m("order_by_name_only", WHOLE, "list_returns_every_student_ordered_by_name_then_id", &["in this order"]),
    m("update_no_where", WHOLE, "update_with_an_unknown_id_is_none", &["Ok(None)"]),
];

const EVOLVING_SCHEMA: &[Mistake] = &[
    m(
        "one_step_not_null",
        OVER_SOLUTION,
        "step_2_adds_plan_to_a_table_that_already_has_rows",
        &["contains null values", "2_add_plan.up.sql"],
    ),
    m(
        "rename_breaks_old_readers",
        OVER_SOLUTION,
        "step_3_lets_old_and_new_code_read_every_name",
        &["column \\\"fullname\\\" does not exist"],
    ),
    m("index_inside_transaction", OVER_SOLUTION, "step_5_does_not_block_writes_while_it_builds", &["lock timeout"]),
];

const SEEDS: &[Mistake] = &[
    m("non_idempotent_seed", OVER_SOLUTION, "seeding_twice_leaves_exactly_the_same_rows", &["duplicate key"]),
    m(
        "down_deletes_user_rows",
        OVER_SOLUTION,
        "seed_down_keeps_rows_people_created",
        &["deleted or changed rows it did not create"],
    ),
];

const ASSOCIATIONS: &[Mistake] = &[
    m(
        "n_plus_one",
        OVER_SOLUTION,
        "users_with_posts_batched_takes_one_statement_per_collection_not_per_user",
        &["N+1", "statements:"],
    ),
    m(
        "inner_join_drops_childless",
        OVER_SOLUTION,
        "users_with_posts_joined_keeps_users_who_have_no_posts",
        &["without posts are missing"],
    ),
    m(
        "missing_foreign_key",
        OVER_SOLUTION,
        "every_association_is_a_foreign_key_with_its_on_delete_rule",
        &["comments.post_id: no foreign key"],
    ),
    m(
        "missing_index",
        OVER_SOLUTION,
        "every_foreign_key_column_has_an_index",
        &["no index starts with comments.user_id"],
    ),
    m(
        "cartesian_join",
        OVER_SOLUTION,
        "users_with_posts_and_comments_sends_no_more_rows_than_it_loads",
        &["rows over the wire"],
    ),
    m("tag_filter_trims_posts", OVER_SOLUTION, "users_with_a_post_tagged_keeps_all_their_posts", &["posts"]),
];

#[test]
fn first_migration_mistakes_are_caught() {
    assert_caught("first_migration", FIRST_MIGRATION);
}

#[test]
fn student_directory_mistakes_are_caught() {
    assert_caught("student_directory", STUDENT_DIRECTORY);
}

#[test]
fn evolving_schema_mistakes_are_caught() {
    assert_caught("evolving_schema", EVOLVING_SCHEMA);
}

#[test]
fn seeds_mistakes_are_caught() {
    assert_caught("seeds", SEEDS);
}

#[test]
fn associations_mistakes_are_caught() {
    assert_caught("associations", ASSOCIATIONS);
}

/// Runs each mistake of `slug` and fails naming every one that was not
/// caught (all are run, so one report names every miss).
fn assert_caught(slug: &str, mistakes: &[Mistake]) {
    let mut misses = Vec::new();
    for m in mistakes {
        let dir = workspace_root().join("checker/tests/fixtures/mistakes").join(slug).join(m.fixture);
        assert!(dir.is_dir(), "missing fixture {}", dir.display());
        let mut cmd = checker();
        cmd.args(["dev", "try", slug]).arg(&dir).args(["--format", "json"]);
        if m.over_solution {
            cmd.arg("--over-solution");
        }
        let out = cmd.output().unwrap();
        let name = format!("{}/{}", slug, m.fixture);
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
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
