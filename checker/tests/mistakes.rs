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

/// The concurrency mistakes fail on every run, not by luck: each check
/// holds a row lock on its own connection and lets go only once the code
/// under test is waiting for it (`pg_stat_activity`), so the interleaving
/// that exposes the mistake is the one that happens.
#[test]
fn transactions_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "transactions",
            "read_modify_write_without_for_update",
            true,
            "transfer_waits_for_a_locked_account_and_loses_no_concurrent_deposit",
            &["is gone", "lost update", "FOR UPDATE"],
        ),
        m(
            "transactions",
            "check_then_act_without_for_update",
            true,
            "transfer_checks_the_balance_after_the_lock_is_granted_and_never_overdraws",
            &["is overdrawn", "FOR UPDATE"],
        ),
        m(
            "transactions",
            "locks_in_argument_order",
            true,
            "opposite_transfers_at_the_same_moment_do_not_deadlock",
            &["40P01", "deadlock detected", "waits for ShareLock", "lower id first"],
        ),
        m(
            "transactions",
            "ledger_insert_on_the_pool",
            true,
            "transfer_sends_every_statement_through_one_transaction",
            &["`INSERT INTO transfers", "idle in transaction", "on the pool beside your own transaction"],
        ),
        m(
            "transactions",
            "receipt_read_on_the_pool",
            true,
            "transfer_sends_every_statement_through_one_transaction",
            &["went through the pool, not through the transaction"],
        ),
        m(
            "transactions",
            "refuses_the_exact_balance",
            true,
            "transfer_moves_the_money_bumps_both_versions_and_writes_one_ledger_row",
            &["not <="],
        ),
        m(
            "transactions",
            "transfer_keeps_the_version",
            true,
            "transfer_moves_the_money_bumps_both_versions_and_writes_one_ledger_row",
            &["the versions are not"],
        ),
        m(
            "transactions",
            "notify_before_commit",
            true,
            "the_customer_is_notified_once_and_only_after_commit",
            &["before the transaction committed", "COMMIT"],
        ),
        m(
            "transactions",
            "commit_error_ignored",
            true,
            "nothing_is_sent_when_the_commit_fails",
            &["the customer was told", "never happened"],
        ),
        m(
            "transactions",
            "optimistic_update_ignores_the_version",
            true,
            "withdraw_retries_when_the_version_changed_after_it_read",
            &["overwrote the other writer", "AND version = $2"],
        ),
        m(
            "transactions",
            "optimistic_retry_without_a_bound",
            true,
            "withdraw_gives_up_after_five_attempts",
            &["still retrying", "UPDATEs"],
        ),
        m(
            "transactions",
            "serializable_without_retry",
            true,
            "withdraw_covered_retries_after_a_serialization_failure",
            &["40001", "a second attempt"],
        ),
        m(
            "transactions",
            "repeatable_read_instead_of_serializable",
            true,
            "withdraw_covered_is_serializable_so_two_withdrawals_cannot_spend_the_same_cover",
            &["both went through", "Write skew"],
        ),
        m(
            "transactions",
            "read_committed_instead_of_serializable",
            true,
            "withdraw_covered_retries_after_a_serialization_failure",
            &["the first attempt to fail with SQLSTATE 40001", "began with `BEGIN`"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// Each raw query's mistakes, caught by the data the checks plant on every
/// run: ties at the cut, posts on the window's edges, a loop in the org
/// chart, hostile text and sort columns.
#[test]
fn raw_sql_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "raw_sql",
            "row_number_drops_ties",
            true,
            "top_posts_ranks_the_posts_of_each_author_by_likes_and_ties_share_a_rank",
            &["row_number() gives tied rows different numbers"],
        ),
        m(
            "raw_sql",
            "dense_rank_keeps_too_many",
            true,
            "top_posts_ranks_the_posts_of_each_author_by_likes_and_ties_share_a_rank",
            &["dense_rank() does not skip"],
        ),
        m(
            "raw_sql",
            "ranks_before_the_date_filter",
            true,
            "top_posts_ranks_only_the_posts_inside_the_window",
            &["the window function sees only"],
        ),
        m("raw_sql", "until_included", true, "top_posts_ranks_only_the_posts_inside_the_window", &["not <="]),
        m("raw_sql", "since_excluded", true, "top_posts_ranks_only_the_posts_inside_the_window", &["not >"]),
        m(
            "raw_sql",
            "dates_pasted",
            true,
            "top_posts_sends_the_dates_and_the_limit_as_bind_parameters",
            &["written into the SQL text"],
        ),
        m(
            "raw_sql",
            "recursion_without_a_loop_guard",
            true,
            "reports_of_stops_at_a_loop_in_the_reporting_chain",
            &["statement timeout", "never stops"],
        ),
        m(
            "raw_sql",
            "two_levels_only",
            true,
            "reports_of_finds_every_level_below_a_manager_with_its_depth",
            &["The reports stop at depth 2", "WITH RECURSIVE"],
        ),
        m(
            "raw_sql",
            "depth_from_zero",
            true,
            "reports_of_finds_every_level_below_a_manager_with_its_depth",
            &["with the wrong depth"],
        ),
        m(
            "raw_sql",
            "sort_column_unchecked",
            true,
            "search_posts_refuses_a_sort_column_or_direction_not_on_the_list",
            &["Err(BadSort(", "the value went into the SQL text"],
        ),
        m(
            "raw_sql",
            "direction_unchecked",
            true,
            "search_posts_refuses_a_sort_column_or_direction_not_on_the_list",
            &["Err(BadSort(\\\"desc; DELETE FROM posts"],
        ),
        m(
            "raw_sql",
            "search_text_escaped_and_pasted",
            true,
            "search_posts_sends_hostile_search_text_as_a_bind_parameter",
            &["it went into the SQL text", "replacements"],
        ),
        m(
            "raw_sql",
            "like_with_wildcards",
            true,
            "search_posts_sends_hostile_search_text_as_a_bind_parameter",
            &["LIKE reads % and _ as wildcards"],
        ),
        m("raw_sql", "count_star", true, "author_stats_maps_counts_sums_and_dates_onto_the_struct", &["count(p.id)"]),
        m(
            "raw_sql",
            "inner_join_drops_silent_authors",
            true,
            "author_stats_maps_counts_sums_and_dates_onto_the_struct",
            &["LEFT JOIN"],
        ),
        m(
            "raw_sql",
            "one_query_per_author",
            true,
            "latest_posts_per_author_takes_one_statement_and_sends_only_the_rows_it_keeps",
            &["N+1"],
        ),
        m(
            "raw_sql",
            "limit_applied_in_rust",
            true,
            "latest_posts_per_author_takes_one_statement_and_sends_only_the_rows_it_keeps",
            &["rows over the wire"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
