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

#[test]
fn pagination_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "pagination",
            "count_star_over_join",
            true,
            "the_total_counts_users_not_the_rows_of_their_posts",
            &["the number of posts on the topic", "count(DISTINCT u.id)"],
        ),
        m(
            "pagination",
            "count_in_rust",
            true,
            "users_writing_about_sends_at_most_three_statements_and_no_rows_beyond_the_page",
            &["rows over the wire"],
        ),
        m(
            "pagination",
            "limit_on_joined_rows",
            true,
            "a_page_holds_limit_users_whatever_their_post_counts",
            &["counted rows of the join"],
        ),
        m(
            "pagination",
            "posts_of_every_topic",
            true,
            "each_user_on_a_page_comes_with_all_their_posts_on_the_topic_and_no_others",
            &["load only the posts on the topic"],
        ),
        m(
            "pagination",
            "order_by_name_only",
            true,
            "walking_every_page_lists_each_user_once_in_name_then_id_order",
            &["share a name", "ORDER BY name, id"],
        ),
        m(
            "pagination",
            "offset_cursor",
            true,
            "walking_the_feed_while_posts_come_and_go_returns_each_remaining_post_once",
            &["repeated", "OFFSET"],
        ),
        m(
            "pagination",
            "keyset_skips_ties",
            true,
            "walking_the_feed_returns_every_post_once_newest_first",
            &["skipped", "`created_at < $1` steps over every post tied with it"],
        ),
        m("pagination", "keyset_repeats_ties", true, "walking_the_feed_returns_every_post_once_newest_first", &["<="]),
        m(
            "pagination",
            "cursor_in_milliseconds",
            true,
            "walking_the_feed_returns_every_post_once_newest_first",
            &["skipped", "loses the microseconds"],
        ),
        m(
            "pagination",
            "cursor_looks_up_its_row",
            true,
            "walking_the_feed_while_posts_come_and_go_returns_each_remaining_post_once",
            &["deleted between pages"],
        ),
        m(
            "pagination",
            "no_limit_plus_one",
            true,
            "walking_the_feed_returns_every_post_once_newest_first",
            &["is empty", "LIMIT limit + 1"],
        ),
        m("pagination", "no_feed_index", true, "the_feed_query_is_served_by_an_index_without_sorting", &["Seq Scan"]),
        m(
            "pagination",
            "or_condition",
            true,
            "the_feed_query_is_served_by_an_index_without_sorting",
            &["Filter", "nothing to seek to"],
        ),
        m(
            "pagination",
            "pasted_cursor",
            true,
            "a_feed_page_is_one_statement_with_the_cursor_bound_not_pasted",
            &["neither was bound"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn pooling_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "pooling",
            "size_rounds_up",
            true,
            "pool_size_shares_what_the_server_has_left_among_the_replicas",
            &["rounded down"],
        ),
        m(
            "pooling",
            "size_overflows",
            true,
            "pool_size_shares_what_the_server_has_left_among_the_replicas",
            &["overflow"],
        ),
        m(
            "pooling",
            "no_size_check",
            true,
            "a_pool_larger_than_the_server_allows_is_refused",
            &["TooLarge", "Ok(pool)"],
        ),
        m(
            "pooling",
            "hard_coded_server_max",
            true,
            "a_pool_larger_than_the_server_allows_is_refused",
            &["current_setting('max_connections')"],
        ),
        m(
            "pooling",
            "acquire_not_checked",
            true,
            "a_config_that_cannot_work_is_refused_before_connecting",
            &["AcquireNotShorterThanRequest"],
        ),
        m(
            "pooling",
            "no_acquire_timeout",
            true,
            "an_exhausted_pool_fails_fast_with_busy",
            &["still waiting", "sqlx waits 30 s"],
        ),
        m(
            "pooling",
            "errors_not_classified",
            true,
            "an_exhausted_pool_fails_fast_with_busy",
            &["OrderError::Busy", "PoolTimedOut"],
        ),
        m(
            "pooling",
            "errors_not_classified",
            true,
            "a_slow_query_is_cancelled_by_statement_timeout_with_57014",
            &["OrderError::Timeout", "57014"],
        ),
        m(
            "pooling",
            "settings_on_one_connection",
            true,
            "every_connection_the_pool_opens_gets_the_settings",
            &["statement_timeout 0", "A SET sent through the pool"],
        ),
        m(
            "pooling",
            "statement_timeout_in_seconds",
            true,
            "a_slow_query_is_cancelled_by_statement_timeout_with_57014",
            &["still running"],
        ),
        m(
            "pooling",
            "no_idle_or_lifetime",
            true,
            "idle_connections_are_closed_and_old_ones_replaced_with_the_settings",
            &["still open", "idle_timeout"],
        ),
        m(
            "pooling",
            "leaky_handler",
            true,
            "every_path_of_place_order_gives_its_connection_back_outside_a_transaction",
            &["left inside a transaction", "idle in transaction"],
        ),
        m(
            "pooling",
            "ignores_max_connections",
            true,
            "more_requests_than_connections_all_finish_without_passing_max_connections",
            &["never more than max_connections"],
        ),
        m(
            "pooling",
            "pool_inside_transaction",
            true,
            "more_requests_than_connections_all_finish_without_passing_max_connections",
            &["unfinished", "needs a second connection"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn soft_delete_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "soft_delete",
            "find_by_email_shows_deleted",
            true,
            "find_and_find_by_email_never_return_a_deleted_member",
            &["deleted member who had the email first"],
        ),
        m(
            "soft_delete",
            "list_shows_deleted",
            true,
            "list_shows_every_live_member_and_no_deleted_one",
            &["not expected"],
        ),
        m(
            "soft_delete",
            "count_includes_deleted",
            true,
            "count_counts_the_live_members_in_the_database",
            &["every row"],
        ),
        m("soft_delete", "count_in_rust", true, "count_counts_the_live_members_in_the_database", &["counted in Rust"]),
        m(
            "soft_delete",
            "list_filtered_in_rust",
            true,
            "list_shows_every_live_member_and_no_deleted_one",
            &["filtered in Rust"],
        ),
        m(
            "soft_delete",
            "join_shows_deleted_and_repeats",
            true,
            "members_in_city_hides_deleted_members_and_lists_each_once",
            &["not expected", "deleted"],
        ),
        m(
            "soft_delete",
            "plain_unique_email",
            true,
            "email_is_unique_among_live_members_only_in_the_catalog",
            &["unique over deleted rows too", "could never be registered again"],
        ),
        m(
            "soft_delete",
            "plain_unique_email",
            true,
            "a_deleted_members_email_can_be_registered_again",
            &["members_email_key counts deleted rows too"],
        ),
        m(
            "soft_delete",
            "unique_email_and_deleted_at",
            true,
            "two_live_members_cannot_share_an_email",
            &["NULL never equals NULL"],
        ),
        m(
            "soft_delete",
            "unique_email_and_deleted_at",
            true,
            "email_is_unique_among_live_members_only_in_the_catalog",
            &["members_email_deleted_at_key is unique over deleted rows too"],
        ),
        m("soft_delete", "hard_delete", true, "delete_sets_deleted_at_and_keeps_the_row", &["hard delete"]),
        m(
            "soft_delete",
            "delete_moves_deleted_at",
            true,
            "deleting_a_deleted_or_unknown_member_changes_nothing",
            &["deleted_at moved"],
        ),
        m(
            "soft_delete",
            "restore_without_email_taken",
            true,
            "restoring_a_member_whose_email_was_taken_fails_and_changes_nothing",
            &["Err(Database(", "23505"],
        ),
        m(
            "soft_delete",
            "force_delete_live_only",
            true,
            "force_delete_removes_the_row_for_real",
            &["for a deleted member"],
        ),
        m(
            "soft_delete",
            "purge_leaves_orders",
            true,
            "purge_erases_the_member_and_every_trace_of_their_personal_data",
            &["still there", "orders:"],
        ),
        m(
            "soft_delete",
            "purge_member_first",
            true,
            "purge_erases_the_member_and_every_trace_of_their_personal_data",
            &["still there", "FIRST"],
        ),
        m(
            "soft_delete",
            "purge_without_transaction",
            true,
            "purge_is_all_or_nothing_when_a_step_fails",
            &["half-erased"],
        ),
        m(
            "soft_delete",
            "purge_last_step_on_the_pool",
            true,
            "purge_erases_the_member_and_every_trace_of_their_personal_data",
            &["outside the transaction open on another connection"],
        ),
        m(
            "soft_delete",
            "purge_last_step_on_the_pool",
            true,
            "purge_is_all_or_nothing_when_a_step_fails",
            &["half-erased"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn hooks_audit_mistakes_are_caught() {
    let misses = misses(&[
        m(
            "hooks_audit",
            "bulk_create_plaintext",
            true,
            "create_users_hashes_every_row_of_a_bulk_insert",
            &["stored as given", "bulkCreate"],
        ),
        m(
            "hooks_audit",
            "hash_after_insert",
            true,
            "create_user_stores_a_hash_that_verifies_and_never_sends_the_password",
            &["never to leave the program", "INSERT INTO users"],
        ),
        m("hooks_audit", "fixed_salt", true, "create_users_hashes_every_row_of_a_bulk_insert", &["own salt"]),
        m(
            "hooks_audit",
            "update_rehashes_the_hash",
            true,
            "update_rehashes_only_when_the_password_changes",
            &["password_hash untouched", "locked out"],
        ),
        m(
            "hooks_audit",
            "verify_by_hashing_again",
            true,
            "authenticate_checks_the_password_in_rust_and_never_sends_it",
            &["Ok(None)"],
        ),
        m(
            "hooks_audit",
            "audit_on_the_pool",
            true,
            "every_create_writes_its_audit_row_in_the_same_transaction",
            &["INSERT INTO audit_log", "outside the transaction open on another connection"],
        ),
        m(
            "hooks_audit",
            "audit_after_commit",
            true,
            "a_failing_audit_insert_rolls_the_change_back",
            &["the change stayed"],
        ),
        m(
            "hooks_audit",
            "audit_after_commit",
            true,
            "every_create_writes_its_audit_row_in_the_same_transaction",
            &["one transaction on one connection"],
        ),
        m(
            "hooks_audit",
            "audit_keeps_the_hash",
            true,
            "every_create_writes_its_audit_row_in_the_same_transaction",
            &["carries the password hash"],
        ),
        m(
            "hooks_audit",
            "before_read_without_lock",
            true,
            "the_audit_before_is_the_row_the_update_replaced",
            &["already gone", "FOR UPDATE"],
        ),
        m(
            "hooks_audit",
            "bulk_create_one_by_one",
            true,
            "a_change_that_fails_leaves_no_audit_row",
            &["for a change that never happened"],
        ),
        m(
            "hooks_audit",
            "no_trigger",
            true,
            "the_trigger_audits_users_deleted_by_on_delete_cascade",
            &["0 audit row(s)", "only a trigger can see this write"],
        ),
        m(
            "hooks_audit",
            "trigger_misses_updates",
            true,
            "the_trigger_audits_a_raw_sql_write",
            &["update of users row", "2 audit row(s)"],
        ),
        m(
            "hooks_audit",
            "trigger_ignores_the_mark",
            true,
            "every_create_writes_its_audit_row_in_the_same_transaction",
            &["audited twice"],
        ),
    ]);
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
