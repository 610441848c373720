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
    m("only_email", WHOLE, "every_column_is_not_null", &["missing: id, name, cohort"]),
    m("only_email", WHOLE, "email_is_unique", &["missing: id, name, cohort"]),
];

const STUDENT_DIRECTORY: &[Mistake] = &[
    m("find_fetch_one", WHOLE, "find_with_an_unknown_id_is_none", &["Ok(None)"]),
    m("delete_always_true", WHOLE, "delete_with_an_unknown_id_is_false", &["Ok(false)"]),
    m("no_23505", WHOLE, "duplicate_email_is_rejected_with_email_taken", &["EmailTaken", "23505"]),
    m("no_updated_at", WHOLE, "update_changes_the_fields_and_bumps_updated_at", &["updated_at"]),
    m("formatted_insert", WHOLE, "values_travel_as_bind_parameters_not_inside_the_sql", &["inside the SQL"]),
    m("order_by_name_only", WHOLE, "list_returns_every_student_ordered_by_name_then_id", &["in this order"]),
    m("update_no_where", WHOLE, "update_with_an_unknown_id_is_none", &["Ok(None)"]),
    m(
        "hex_encoded_insert",
        OVER_SOLUTION,
        "values_travel_as_bind_parameters_not_inside_the_sql",
        &["inside the SQL text", "decode("],
    ),
    m(
        "find_filters_in_rust",
        OVER_SOLUTION,
        "find_returns_the_student_with_that_id",
        &["one SELECT with the id", "row(s) back"],
    ),
    m(
        "list_sorted_in_rust",
        OVER_SOLUTION,
        "list_returns_every_student_ordered_by_name_then_id",
        &["in the order the server sent them", "ORDER BY"],
    ),
    m(
        "email_checked_before_insert",
        OVER_SOLUTION,
        "duplicate_email_is_rejected_with_email_taken",
        &["refused by the unique index", "without the database refusing"],
    ),
    m(
        "every_refusal_is_email_taken",
        OVER_SOLUTION,
        "duplicate_email_is_rejected_with_email_taken",
        &["23514", "Map only SQLSTATE 23505"],
    ),
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
        "author_by_post_id",
        OVER_SOLUTION,
        "author_of_gives_the_user_who_wrote_the_post",
        &["has user_id", "follow it, users.id = posts.user_id"],
    ),
    m(
        "tag_post_without_on_conflict",
        OVER_SOLUTION,
        "tag_post_adds_a_link_once_and_reports_whether_it_was_new",
        &["a second time", "ON CONFLICT DO NOTHING"],
    ),
    m("tags_of_inner_join_on_post", OVER_SOLUTION, "tags_of_reads_the_tags_through_the_join_table", &["tags:"]),
];

const EAGER_LOADING: &[Mistake] = &[
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
        "cartesian_join",
        OVER_SOLUTION,
        "users_with_posts_and_comments_sends_no_more_rows_than_it_loads",
        &["rows over the wire"],
    ),
    m("tag_filter_trims_posts", OVER_SOLUTION, "users_with_a_post_tagged_keeps_all_their_posts", &["posts"]),
];

const CONNECT: &[Mistake] = &[m(
    "health_check_asks_nothing",
    OVER_SOLUTION,
    "health_check_passes_on_a_live_pool",
    &["without a query answered by the server", "proves nothing"],
)];

const PAGINATION: &[Mistake] = &[
    m(
        "count_star_over_join",
        OVER_SOLUTION,
        "the_total_counts_users_not_the_rows_of_their_posts",
        &["the number of posts on the topic", "count(DISTINCT u.id)"],
    ),
    m(
        "count_in_rust",
        OVER_SOLUTION,
        "users_writing_about_sends_at_most_three_statements_and_no_rows_beyond_the_page",
        &["rows over the wire"],
    ),
    m(
        "limit_on_joined_rows",
        OVER_SOLUTION,
        "a_page_holds_limit_users_whatever_their_post_counts",
        &["counted rows of the join"],
    ),
    m(
        "posts_of_every_topic",
        OVER_SOLUTION,
        "each_user_on_a_page_comes_with_all_their_posts_on_the_topic_and_no_others",
        &["load only the posts on the topic"],
    ),
    m(
        "order_by_name_only",
        OVER_SOLUTION,
        "walking_every_page_lists_each_user_once_in_name_then_id_order",
        &["share a name", "ORDER BY name, id"],
    ),
    m(
        "offset_cursor",
        OVER_SOLUTION,
        "walking_the_feed_while_posts_come_and_go_returns_each_remaining_post_once",
        &["repeated", "OFFSET"],
    ),
    m(
        "keyset_skips_ties",
        OVER_SOLUTION,
        "walking_the_feed_returns_every_post_once_newest_first",
        &["skipped", "`created_at < $1` steps over every post tied with it"],
    ),
    m("keyset_repeats_ties", OVER_SOLUTION, "walking_the_feed_returns_every_post_once_newest_first", &["<="]),
    m(
        "cursor_in_milliseconds",
        OVER_SOLUTION,
        "walking_the_feed_returns_every_post_once_newest_first",
        &["skipped", "loses the microseconds"],
    ),
    m(
        "cursor_looks_up_its_row",
        OVER_SOLUTION,
        "walking_the_feed_while_posts_come_and_go_returns_each_remaining_post_once",
        &["deleted between pages"],
    ),
    m(
        "no_limit_plus_one",
        OVER_SOLUTION,
        "walking_the_feed_returns_every_post_once_newest_first",
        &["is empty", "LIMIT limit + 1"],
    ),
    m("no_feed_index", OVER_SOLUTION, "the_feed_query_is_served_by_an_index_without_sorting", &["Seq Scan"]),
    m(
        "or_condition",
        OVER_SOLUTION,
        "the_feed_query_is_served_by_an_index_without_sorting",
        &["Filter", "nothing to seek to"],
    ),
    m(
        "pasted_cursor",
        OVER_SOLUTION,
        "a_feed_page_is_one_statement_with_the_cursor_bound_not_pasted",
        &["neither was bound"],
    ),
];

const POOLING: &[Mistake] = &[
    m(
        "size_rounds_up",
        OVER_SOLUTION,
        "pool_size_shares_what_the_server_has_left_among_the_replicas",
        &["rounded down"],
    ),
    m("size_overflows", OVER_SOLUTION, "pool_size_shares_what_the_server_has_left_among_the_replicas", &["overflow"]),
    m("no_size_check", OVER_SOLUTION, "a_pool_larger_than_the_server_allows_is_refused", &["TooLarge", "Ok(pool)"]),
    m(
        "hard_coded_server_max",
        OVER_SOLUTION,
        "a_pool_larger_than_the_server_allows_is_refused",
        &["current_setting('max_connections')"],
    ),
    m(
        "acquire_not_checked",
        OVER_SOLUTION,
        "a_config_that_cannot_work_is_refused_before_connecting",
        &["AcquireNotShorterThanRequest"],
    ),
    m(
        "no_acquire_timeout",
        OVER_SOLUTION,
        "an_exhausted_pool_fails_fast_with_busy",
        &["still waiting", "sqlx waits 30 s"],
    ),
    m(
        "errors_not_classified",
        OVER_SOLUTION,
        "an_exhausted_pool_fails_fast_with_busy",
        &["OrderError::Busy", "PoolTimedOut"],
    ),
    m(
        "errors_not_classified",
        OVER_SOLUTION,
        "a_slow_query_is_cancelled_by_statement_timeout_with_57014",
        &["OrderError::Timeout", "57014"],
    ),
    m(
        "settings_on_one_connection",
        OVER_SOLUTION,
        "every_connection_the_pool_opens_gets_the_settings",
        &["statement_timeout 0", "A SET sent through the pool"],
    ),
    m(
        "statement_timeout_in_seconds",
        OVER_SOLUTION,
        "a_slow_query_is_cancelled_by_statement_timeout_with_57014",
        &["still running"],
    ),
    m(
        "no_idle_or_lifetime",
        OVER_SOLUTION,
        "idle_connections_are_closed_and_old_ones_replaced_with_the_settings",
        &["still open", "idle_timeout"],
    ),
    m(
        "leaky_handler",
        OVER_SOLUTION,
        "every_path_of_place_order_gives_its_connection_back_outside_a_transaction",
        &["left inside a transaction", "idle in transaction"],
    ),
    m(
        "ignores_max_connections",
        OVER_SOLUTION,
        "more_requests_than_connections_all_finish_without_passing_max_connections",
        &["never more than max_connections"],
    ),
    m(
        "pool_inside_transaction",
        OVER_SOLUTION,
        "more_requests_than_connections_all_finish_without_passing_max_connections",
        &["unfinished", "needs a second connection"],
    ),
];

const SOFT_DELETE: &[Mistake] = &[
    m(
        "find_by_email_shows_deleted",
        OVER_SOLUTION,
        "find_and_find_by_email_never_return_a_deleted_member",
        &["deleted member who had the email first"],
    ),
    m("list_shows_deleted", OVER_SOLUTION, "list_shows_every_live_member_and_no_deleted_one", &["not expected"]),
    m("count_includes_deleted", OVER_SOLUTION, "count_counts_the_live_members_in_the_database", &["every row"]),
    m("count_in_rust", OVER_SOLUTION, "count_counts_the_live_members_in_the_database", &["counted in Rust"]),
    m("list_filtered_in_rust", OVER_SOLUTION, "list_shows_every_live_member_and_no_deleted_one", &["filtered in Rust"]),
    m(
        "join_shows_deleted_and_repeats",
        OVER_SOLUTION,
        "members_in_city_hides_deleted_members_and_lists_each_once",
        &["not expected", "deleted"],
    ),
    m(
        "plain_unique_email",
        OVER_SOLUTION,
        "email_is_unique_among_live_members_only_in_the_catalog",
        &["unique over deleted rows too", "could never be registered again"],
    ),
    m(
        "plain_unique_email",
        OVER_SOLUTION,
        "a_deleted_members_email_can_be_registered_again",
        &["members_email_key counts deleted rows too"],
    ),
    m(
        "unique_email_and_deleted_at",
        OVER_SOLUTION,
        "two_live_members_cannot_share_an_email",
        &["NULL never equals NULL"],
    ),
    m(
        "unique_email_and_deleted_at",
        OVER_SOLUTION,
        "email_is_unique_among_live_members_only_in_the_catalog",
        &["members_email_deleted_at_key is unique over deleted rows too"],
    ),
    m("hard_delete", OVER_SOLUTION, "delete_sets_deleted_at_and_keeps_the_row", &["hard delete"]),
    m(
        "delete_moves_deleted_at",
        OVER_SOLUTION,
        "deleting_a_deleted_or_unknown_member_changes_nothing",
        &["deleted_at moved"],
    ),
    m(
        "restore_without_email_taken",
        OVER_SOLUTION,
        "restoring_a_member_whose_email_was_taken_fails_and_changes_nothing",
        &["Err(Database(", "23505"],
    ),
    m("force_delete_live_only", OVER_SOLUTION, "force_delete_removes_the_row_for_real", &["for a deleted member"]),
    m(
        "purge_leaves_orders",
        OVER_SOLUTION,
        "purge_erases_the_member_and_every_trace_of_their_personal_data",
        &["still there", "orders:"],
    ),
    m(
        "purge_member_first",
        OVER_SOLUTION,
        "purge_erases_the_member_and_every_trace_of_their_personal_data",
        &["still there", "FIRST"],
    ),
    m("purge_without_transaction", OVER_SOLUTION, "purge_is_all_or_nothing_when_a_step_fails", &["half-erased"]),
    m(
        "purge_last_step_on_the_pool",
        OVER_SOLUTION,
        "purge_erases_the_member_and_every_trace_of_their_personal_data",
        &["ran after the COMMIT, outside the transaction"],
    ),
    m("purge_last_step_on_the_pool", OVER_SOLUTION, "purge_is_all_or_nothing_when_a_step_fails", &["half-erased"]),
];

const HOOKS_AUDIT: &[Mistake] = &[
    m(
        "bulk_create_plaintext",
        OVER_SOLUTION,
        "create_users_hashes_every_row_of_a_bulk_insert",
        &["stored as given", "bulkCreate"],
    ),
    m(
        "hash_after_insert",
        OVER_SOLUTION,
        "create_user_stores_a_hash_that_verifies_and_never_sends_the_password",
        &["never to leave the program", "INSERT INTO users"],
    ),
    m("fixed_salt", OVER_SOLUTION, "create_users_hashes_every_row_of_a_bulk_insert", &["own salt"]),
    m(
        "update_rehashes_the_hash",
        OVER_SOLUTION,
        "update_rehashes_only_when_the_password_changes",
        &["password_hash untouched", "locked out"],
    ),
    m(
        "verify_by_hashing_again",
        OVER_SOLUTION,
        "authenticate_checks_the_password_in_rust_and_never_sends_it",
        &["Ok(None)"],
    ),
    m(
        "audit_on_the_pool",
        OVER_SOLUTION,
        "every_create_writes_its_audit_row_in_the_same_transaction",
        &["INSERT INTO audit_log", "outside the transaction open on another connection"],
    ),
    m("audit_after_commit", OVER_SOLUTION, "a_failing_audit_insert_rolls_the_change_back", &["the change stayed"]),
    m(
        "audit_after_commit",
        OVER_SOLUTION,
        "every_create_writes_its_audit_row_in_the_same_transaction",
        &["one transaction on one connection"],
    ),
    m(
        "audit_keeps_the_hash",
        OVER_SOLUTION,
        "every_create_writes_its_audit_row_in_the_same_transaction",
        &["carries the password hash"],
    ),
    m(
        "before_read_without_lock",
        OVER_SOLUTION,
        "the_audit_before_is_the_row_the_update_replaced",
        &["already gone", "FOR UPDATE"],
    ),
    m(
        "bulk_create_one_by_one",
        OVER_SOLUTION,
        "a_change_that_fails_leaves_no_audit_row",
        &["for a change that never happened"],
    ),
    m(
        "no_trigger",
        OVER_SOLUTION,
        "the_trigger_audits_users_deleted_by_on_delete_cascade",
        &["0 audit row(s)", "only a trigger can see this write"],
    ),
    m(
        "trigger_misses_updates",
        OVER_SOLUTION,
        "the_trigger_audits_a_raw_sql_write",
        &["update of users row", "2 audit row(s)"],
    ),
    m(
        "trigger_ignores_the_mark",
        OVER_SOLUTION,
        "every_create_writes_its_audit_row_in_the_same_transaction",
        &["audited twice"],
    ),
];

const TRANSACTIONS: &[Mistake] = &[
    m(
        "read_modify_write_without_for_update",
        OVER_SOLUTION,
        "transfer_waits_for_a_locked_account_and_loses_no_concurrent_deposit",
        &["is gone", "lost update", "FOR UPDATE"],
    ),
    m(
        "check_then_act_without_for_update",
        OVER_SOLUTION,
        "transfer_checks_the_balance_after_the_lock_is_granted_and_never_overdraws",
        &["is overdrawn", "FOR UPDATE"],
    ),
    m(
        "locks_in_argument_order",
        OVER_SOLUTION,
        "opposite_transfers_at_the_same_moment_do_not_deadlock",
        &["40P01", "deadlock detected", "waits for ShareLock", "lower id first"],
    ),
    m(
        "ledger_insert_on_the_pool",
        OVER_SOLUTION,
        "transfer_sends_every_statement_through_one_transaction",
        &["`INSERT INTO transfers", "idle in transaction", "on the pool beside your own transaction"],
    ),
    m(
        "receipt_read_on_the_pool",
        OVER_SOLUTION,
        "transfer_sends_every_statement_through_one_transaction",
        &["went through the pool, not through the transaction"],
    ),
    m(
        "refuses_the_exact_balance",
        OVER_SOLUTION,
        "transfer_moves_the_money_bumps_both_versions_and_writes_one_ledger_row",
        &["not <="],
    ),
    m(
        "transfer_keeps_the_version",
        OVER_SOLUTION,
        "transfer_moves_the_money_bumps_both_versions_and_writes_one_ledger_row",
        &["the versions are not"],
    ),
    m(
        "notify_before_commit",
        OVER_SOLUTION,
        "the_customer_is_notified_once_and_only_after_commit",
        &["before the transaction committed", "COMMIT"],
    ),
    m(
        "commit_error_ignored",
        OVER_SOLUTION,
        "nothing_is_sent_when_the_commit_fails",
        &["the customer was told", "never happened"],
    ),
    m(
        "optimistic_update_ignores_the_version",
        OVER_SOLUTION,
        "withdraw_retries_when_the_version_changed_after_it_read",
        &["overwrote the other writer", "AND version = $2"],
    ),
    m(
        "optimistic_retry_without_a_bound",
        OVER_SOLUTION,
        "withdraw_gives_up_after_five_attempts",
        &["still retrying", "UPDATEs"],
    ),
    m(
        "serializable_without_retry",
        OVER_SOLUTION,
        "withdraw_covered_retries_after_a_serialization_failure",
        &["40001", "a second attempt"],
    ),
    m(
        "repeatable_read_instead_of_serializable",
        OVER_SOLUTION,
        "withdraw_covered_is_serializable_so_two_withdrawals_cannot_spend_the_same_cover",
        &["both went through", "Write skew"],
    ),
    m(
        "read_committed_instead_of_serializable",
        OVER_SOLUTION,
        "withdraw_covered_retries_after_a_serialization_failure",
        &["the first attempt to fail with SQLSTATE 40001", "began with `BEGIN`"],
    ),
];

const RAW_SQL: &[Mistake] = &[
    m(
        "row_number_drops_ties",
        OVER_SOLUTION,
        "top_posts_ranks_the_posts_of_each_author_by_likes_and_ties_share_a_rank",
        &["row_number() gives tied rows different numbers"],
    ),
    m(
        "dense_rank_keeps_too_many",
        OVER_SOLUTION,
        "top_posts_ranks_the_posts_of_each_author_by_likes_and_ties_share_a_rank",
        &["dense_rank() does not skip"],
    ),
    m(
        "ranks_before_the_date_filter",
        OVER_SOLUTION,
        "top_posts_ranks_only_the_posts_inside_the_window",
        &["the window function sees only"],
    ),
    m("until_included", OVER_SOLUTION, "top_posts_ranks_only_the_posts_inside_the_window", &["not <="]),
    m("since_excluded", OVER_SOLUTION, "top_posts_ranks_only_the_posts_inside_the_window", &["not >"]),
    m(
        "dates_pasted",
        OVER_SOLUTION,
        "top_posts_sends_the_dates_and_the_limit_as_bind_parameters",
        &["written into the SQL text"],
    ),
    m(
        "recursion_without_a_loop_guard",
        OVER_SOLUTION,
        "reports_of_stops_at_a_loop_in_the_reporting_chain",
        &["statement timeout", "never stops"],
    ),
    m(
        "two_levels_only",
        OVER_SOLUTION,
        "reports_of_finds_every_level_below_a_manager_with_its_depth",
        &["The reports stop at depth 2", "WITH RECURSIVE"],
    ),
    m(
        "depth_from_zero",
        OVER_SOLUTION,
        "reports_of_finds_every_level_below_a_manager_with_its_depth",
        &["with the wrong depth"],
    ),
    m(
        "sort_column_unchecked",
        OVER_SOLUTION,
        "search_posts_refuses_a_sort_column_or_direction_not_on_the_list",
        &["Err(BadSort(", "the value went into the SQL text"],
    ),
    m(
        "direction_unchecked",
        OVER_SOLUTION,
        "search_posts_refuses_a_sort_column_or_direction_not_on_the_list",
        &["Err(BadSort(\\\"desc; DELETE FROM posts"],
    ),
    m(
        "search_text_escaped_and_pasted",
        OVER_SOLUTION,
        "search_posts_sends_hostile_search_text_as_a_bind_parameter",
        &["it went into the SQL text", "replacements"],
    ),
    m(
        "like_with_wildcards",
        OVER_SOLUTION,
        "search_posts_sends_hostile_search_text_as_a_bind_parameter",
        &["LIKE reads % and _ as wildcards"],
    ),
    m("count_star", OVER_SOLUTION, "author_stats_maps_counts_sums_and_dates_onto_the_struct", &["count(p.id)"]),
    m(
        "inner_join_drops_silent_authors",
        OVER_SOLUTION,
        "author_stats_maps_counts_sums_and_dates_onto_the_struct",
        &["LEFT JOIN"],
    ),
    m(
        "one_query_per_author",
        OVER_SOLUTION,
        "latest_posts_per_author_takes_one_statement_and_sends_only_the_rows_it_keeps",
        &["N+1"],
    ),
    m(
        "limit_applied_in_rust",
        OVER_SOLUTION,
        "latest_posts_per_author_takes_one_statement_and_sends_only_the_rows_it_keeps",
        &["rows over the wire"],
    ),
];

const QUERIES: &[Mistake] = &[
    m(
        "equals_null",
        OVER_SOLUTION,
        "drill_02_students_without_an_email_are_found_with_is_null",
        &["IS NULL", "never true"],
    ),
    m(
        "not_equal_drops_null",
        OVER_SOLUTION,
        "drill_03_everyone_outside_a_cohort_includes_students_with_no_cohort",
        &["students with no cohort are missing"],
    ),
    m(
        "coalesce_skips_personal",
        OVER_SOLUTION,
        "drill_04_every_student_gets_one_contact_address_or_none",
        &["only a personal address got 'none'"],
    ),
    m("like_is_case_sensitive", OVER_SOLUTION, "drill_05_name_search_ignores_case", &["ILIKE"]),
    m(
        "case_else_catches_null",
        OVER_SOLUTION,
        "drill_06_letter_grades_respect_the_boundaries_and_pending",
        &["Ungraded enrollments got 'F'"],
    ),
    m("distinct_keeps_null", OVER_SOLUTION, "drill_07_each_known_city_appears_once", &["DISTINCT keeps NULL"]),
    m(
        "order_by_name_only",
        OVER_SOLUTION,
        "drill_08_roll_call_orders_namesakes_by_id",
        &["share a name", "ORDER BY name, id"],
    ),
    m("desc_puts_nulls_first", OVER_SOLUTION, "drill_09_gradebook_puts_the_ungraded_last", &["NULLS LAST"]),
    m(
        "limit_drops_ties",
        OVER_SOLUTION,
        "drill_10_top_grades_keep_everyone_tied_with_the_last",
        &["LIMIT", "WITH TIES"],
    ),
    m("offset_skips_a_page", OVER_SOLUTION, "drill_11_a_page_of_students_starts_where_the_last_ended", &["OFFSET 0"]),
    m(
        "count_column_for_rows",
        OVER_SOLUTION,
        "drill_12_course_summary_counts_rows_and_grades_and_averages_them",
        &["count(grade) counts only"],
    ),
    m(
        "integer_division",
        OVER_SOLUTION,
        "drill_12_course_summary_counts_rows_and_grades_and_averages_them",
        &["an integer divided by an integer"],
    ),
    m(
        "missing_having",
        OVER_SOLUTION,
        "drill_14_busy_students_are_filtered_after_grouping",
        &["HAVING count(*) >= $1"],
    ),
    m(
        "wrong_join_column",
        OVER_SOLUTION,
        "drill_15_course_roster_joins_students_to_their_enrollments",
        &["what each ON compares"],
    ),
    m(
        "inner_join_drops_empty_course",
        OVER_SOLUTION,
        "drill_16_course_headcount_keeps_empty_courses_at_zero",
        &["LEFT JOIN enrollments keeps every course"],
    ),
    m(
        "count_star_after_left_join",
        OVER_SOLUTION,
        "drill_16_course_headcount_keeps_empty_courses_at_zero",
        &["count(*) counts it"],
    ),
    m(
        "where_undoes_left_join",
        OVER_SOLUTION,
        "drill_17_passed_counts_keep_students_who_passed_nothing",
        &["passed nothing are missing", "WHERE e.grade >= 50"],
    ),
    m(
        "distinct_in_the_wrong_place",
        OVER_SOLUTION,
        "drill_18_department_reach_counts_each_student_once",
        &["counted twice", "count(DISTINCT e.student_id)"],
    ),
    m(
        "is_null_on_a_nullable_column",
        OVER_SOLUTION,
        "drill_20_students_never_enrolled_are_found_with_not_exists",
        &["not yet graded"],
    ),
    m(
        "not_in_with_null",
        OVER_SOLUTION,
        "drill_21_students_who_mentor_nobody_survive_null_mentor_ids",
        &["NOT IN", "NULL mentor_id"],
    ),
    m(
        "average_of_every_course",
        OVER_SOLUTION,
        "drill_22_grades_above_the_course_average_use_that_course_only",
        &["every course's"],
    ),
    m(
        "distinct_on_drops_ties",
        OVER_SOLUTION,
        "drill_23_best_in_course_keeps_ties_and_skips_ungraded_courses",
        &["share a course's best grade"],
    ),
    m("between_dates", OVER_SOLUTION, "drill_24_a_month_of_enrollments_runs_to_its_last_evening", &["BETWEEN"]),
    m(
        "index_never_used",
        OVER_SOLUTION,
        "drill_25_the_month_query_reads_enrollments_through_your_index",
        &["wraps enrolled_at"],
    ),
    m(
        "index_on_the_wrong_column",
        OVER_SOLUTION,
        "drill_25_the_month_query_reads_enrollments_through_your_index",
        &["does not start with enrolled_at"],
    ),
    m(
        "planner_switched_off",
        OVER_SOLUTION,
        "drill_25_the_month_query_reads_enrollments_through_your_index",
        &["wraps enrolled_at"],
    ),
    m(
        "no_index",
        OVER_SOLUTION,
        "drill_25_the_month_query_reads_enrollments_through_your_index",
        &["only the primary key"],
    ),
];

const STUDENT_API: &[Mistake] = &[
    m(
        "created_200",
        OVER_SOLUTION,
        "post_creates_a_student_answering_201_with_its_location",
        &["201 Created", "200 OK"],
    ),
    m("missing_404", OVER_SOLUTION, "get_returns_the_stored_student_and_404_for_an_unknown_id", &["404", "body: null"]),
    m("panic_on_bad_json", OVER_SOLUTION, "malformed_json_and_wrong_types_are_400_naming_the_field", &["panicked"]),
    m(
        "taken_email_500",
        OVER_SOLUTION,
        "a_taken_email_is_409_even_when_two_requests_race_for_it",
        &["409", "EmailTaken"],
    ),
    m(
        "keeps_one_connection",
        OVER_SOLUTION,
        "a_database_that_goes_away_gives_a_json_error_and_the_server_recovers",
        &["after the database came back", "from the pool"],
    ),
    m(
        "unwrap_database_errors",
        OVER_SOLUTION,
        "a_database_that_goes_away_gives_a_json_error_and_the_server_recovers",
        &["panicked", "the database answers"],
    ),
    m("offset_paging", OVER_SOLUTION, "the_listing_pages_by_keyset_with_no_student_skipped_or_repeated", &["skipped"]),
    m(
        "paging_in_rust",
        OVER_SOLUTION,
        "the_listing_pages_by_keyset_with_no_student_skipped_or_repeated",
        &["rows read"],
    ),
    m("global_pool", OVER_SOLUTION, "each_app_uses_the_pool_it_was_given", &["global"]),
    m("pool_of_one", OVER_SOLUTION, "one_slow_request_does_not_hold_up_the_others", &["within 2 s", "held up"]),
    m("plain_text_errors", OVER_SOLUTION, "every_error_is_a_json_body_never_html_or_plain_text", &["text/plain"]),
    m("no_validation", OVER_SOLUTION, "invalid_values_are_400_naming_the_field", &["201 Created", "name"]),
    m("axum_rejections", OVER_SOLUTION, "malformed_json_and_wrong_types_are_400_naming_the_field", &["text/plain"]),
];

const CAPSTONE: &[Mistake] = &[
    m(
        "oversell",
        OVER_SOLUTION,
        "the_last_seats_are_never_oversold_under_concurrent_requests",
        &["module 9", "201, 201"],
    ),
    m(
        "total_counts_joined_rows",
        OVER_SOLUTION,
        "the_course_listing_pages_with_a_total_that_counts_courses_not_enrollments",
        &["module 11", "the number of courses"],
    ),
    m(
        "audit_outside_transaction",
        OVER_SOLUTION,
        "every_enrollment_change_is_audited_in_the_same_transaction",
        &["module 8", "same transaction"],
    ),
    m(
        "hard_delete",
        OVER_SOLUTION,
        "deleting_a_student_is_a_soft_delete_that_frees_the_email_and_the_seats",
        &["hard delete"],
    ),
    m(
        "email_unique_for_ever",
        OVER_SOLUTION,
        "deleting_a_student_is_a_soft_delete_that_frees_the_email_and_the_seats",
        &["module 7", "WHERE deleted_at IS NULL"],
    ),
    m("listing_n_plus_one", OVER_SOLUTION, "listing_courses_loads_their_counts_without_a_query_per_course", &["N+1"]),
    m(
        "pool_without_timeout",
        OVER_SOLUTION,
        "the_pool_is_configured_for_a_server",
        &["module 12", "statement_timeout"],
    ),
    m(
        "rename_in_one_step",
        OVER_SOLUTION,
        "the_rename_is_an_expand_then_a_contract_that_keeps_every_row",
        &["one step"],
    ),
    m(
        "edited_given_migration",
        OVER_SOLUTION,
        "the_rename_is_an_expand_then_a_contract_that_keeps_every_row",
        &["must not change"],
    ),
    m(
        "seed_without_on_conflict",
        OVER_SOLUTION,
        "the_seed_loads_the_catalogue_once_however_often_it_runs",
        &["ON CONFLICT"],
    ),
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

#[test]
fn eager_loading_mistakes_are_caught() {
    assert_caught("eager_loading", EAGER_LOADING);
}

#[test]
fn connect_mistakes_are_caught() {
    assert_caught("connect", CONNECT);
}

#[test]
fn pagination_mistakes_are_caught() {
    assert_caught("pagination", PAGINATION);
}

#[test]
fn pooling_mistakes_are_caught() {
    assert_caught("pooling", POOLING);
}

#[test]
fn soft_delete_mistakes_are_caught() {
    assert_caught("soft_delete", SOFT_DELETE);
}

#[test]
fn hooks_audit_mistakes_are_caught() {
    assert_caught("hooks_audit", HOOKS_AUDIT);
}

#[test]
fn transactions_mistakes_are_caught() {
    assert_caught("transactions", TRANSACTIONS);
}

#[test]
fn raw_sql_mistakes_are_caught() {
    assert_caught("raw_sql", RAW_SQL);
}

#[test]
fn queries_mistakes_are_caught() {
    assert_caught("queries", QUERIES);
}

#[test]
fn student_api_mistakes_are_caught() {
    assert_caught("student_api", STUDENT_API);
}

#[test]
fn capstone_mistakes_are_caught() {
    assert_caught("capstone", CAPSTONE);
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
