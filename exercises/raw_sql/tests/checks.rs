//! The checks for `raw_sql`. Each test is one check; its name says what it
//! expects. Run them with `cargo checker run raw_sql`.
//!
//! Every check loads a blog and an org chart generated for this run, calls
//! your function through the check's wire relay, and compares what comes
//! back with an answer the check works out in Rust from the data it
//! generated. The traps are planted every run: posts tied on likes right
//! at the cut, posts a second either side of the date window, a loop in
//! the reporting chain, titles full of quotes and percent signs, and sort
//! columns that are SQL of their own.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use raw_sql::{
    Author, AuthorStats, AuthorWithPosts, Post, RankedPost, Report, SearchError, author_stats, latest_posts_per_author,
    reports_of, search_posts, top_posts,
};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use workbook::wire::Traffic;
use workbook::{Db, Failure, check, data};

/// How many rows a failure message shows before "…".
const SHOWN: usize = 12;

// ---------------------------------------------------------------------------
// top_posts: a window function
// ---------------------------------------------------------------------------

#[test]
fn top_posts_ranks_the_posts_of_each_author_by_likes_and_ties_share_a_rank() {
    check(async |db| {
        let n = data::int(2..5);
        let mut blog = Blog::generate();
        let window = blog.window();
        blog.plant_ties(n, &window);
        blog.insert(&db).await;
        let called = format!("top_posts(&pool, {}, {}, {n})", window.since, window.until);
        let (got, sent) = db.wire().during(top_posts(db.app_pool(), window.since, window.until, n)).await;
        let got = ok(&called, got, &sent);
        let want = blog.top_posts(&window, n);
        compare_ranked(&called, &got, &want, &blog, n, &sent);
    });
}

#[test]
fn top_posts_ranks_only_the_posts_inside_the_window() {
    check(async |db| {
        let n = data::int(2..4);
        let mut blog = Blog::generate();
        let window = blog.window();
        blog.plant_ties(n, &window);
        blog.plant_edges(&window);
        blog.insert(&db).await;
        let called = format!("top_posts(&pool, {}, {}, {n})", window.since, window.until);
        let (got, sent) = db.wire().during(top_posts(db.app_pool(), window.since, window.until, n)).await;
        let got = ok(&called, got, &sent);
        let want = blog.top_posts(&window, n);
        if got == want {
            return;
        }
        // The answers three familiar mistakes give, worked out from the
        // data: the one that matches names the mistake.
        let (since, until) = (window.since, window.until);
        let mistakes = [
            (
                blog.rank(|_| true, |p| window.contains(p.published_at), n),
                "The ranks are counted among all of the author's posts and the date filter applied afterwards, so \
                 posts from outside the window took the first places. Filter by date in the query that computes \
                 rank(), not around it: the window function sees only the rows its own FROM and WHERE leave.",
            ),
            (
                blog.rank(|p| p.published_at > since && p.published_at < until, |_| true, n),
                "A post published at exactly `since` is missing: `since` is part of the window, published_at >= $1, not >.",
            ),
            (
                blog.rank(|p| p.published_at >= since && p.published_at <= until, |_| true, n),
                "A post published at exactly `until` is there: `until` is not part of the window, published_at < $2, not <=.",
            ),
        ];
        if let Some((_, hint)) = mistakes.iter().find(|(answer, _)| *answer == got) {
            Failure::new(&called)
                .expected(format!("{} rows:{}", want.len(), show_ranked(&want)))
                .got(format!("{} rows:{}", got.len(), show_ranked(&got)))
                .hint(*hint)
                .sent(&sent)
                .fail();
        }
        let outside: BTreeSet<i64> =
            blog.posts.iter().filter(|p| !window.contains(p.published_at)).map(|p| p.id).collect();
        if let Some(bad) = got.iter().find(|r| outside.contains(&r.post_id)) {
            let post = blog.post(bad.post_id);
            let hint = if post.published_at == window.until {
                "`until` is not part of the window: published_at < $2, not <=."
            } else {
                "Only posts published in [since, until) count: filter with WHERE inside the subquery that ranks."
            };
            Failure::new(&called)
                .expected(format!("only posts published from {} up to (not including) {}", window.since, window.until))
                .got(format!("post {} published at {}", post.id, post.published_at))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
        let got_ids: BTreeSet<i64> = got.iter().map(|r| r.post_id).collect();
        if let Some(edge) = blog.posts.iter().find(|p| {
            p.published_at == window.since && want.iter().any(|r| r.post_id == p.id) && !got_ids.contains(&p.id)
        }) {
            Failure::new(&called)
                .expected(format!(
                    "post {} (published at exactly {}, the window's start) among the top posts",
                    edge.id, window.since
                ))
                .got("it is missing")
                .hint("`since` is part of the window: published_at >= $1, not >.")
                .sent(&sent)
                .fail();
        }
        if got != want {
            let wrong_rank = got.iter().find(|g| want.iter().any(|w| w.post_id == g.post_id && w.rank != g.rank));
            let hint = if wrong_rank.is_some() {
                "The ranks are counted among posts outside the window too: a post from before `since` took a rank. \
                 Filter by date in the query that computes rank(), not after it: the window function sees only \
                 the rows its own FROM and WHERE leave."
            } else {
                "Rank the posts inside the window, per author, by likes."
            };
            Failure::new(&called)
                .expected(format!("{} rows:{}", want.len(), show_ranked(&want)))
                .got(format!("{} rows:{}", got.len(), show_ranked(&got)))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn top_posts_sends_the_dates_and_the_limit_as_bind_parameters() {
    check(async |db| {
        let n = data::int(2..5);
        let mut blog = Blog::generate();
        let window = blog.window();
        blog.plant_ties(n, &window);
        blog.insert(&db).await;
        let called = format!("top_posts(&pool, {}, {}, {n})", window.since, window.until);
        let (got, sent) = db.wire().during(top_posts(db.app_pool(), window.since, window.until, n)).await;
        let got = ok(&called, got, &sent);
        let queries = sent.queries();
        if queries.len() != 1 {
            Failure::new(&called)
                .expected("one statement: the window function ranks every author's posts at once")
                .got(format!("{} statements", queries.len()))
                .sent(&sent)
                .fail();
        }
        for (what, date) in [("since", window.since), ("until", window.until)] {
            let day = date.format("%Y-%m-%d").to_string();
            if let Some(s) = sent.pasted(&day) {
                Failure::new(&called)
                    .expected(format!("`{what}` ({date}) sent as a bind parameter"))
                    .got(format!("it is written into the SQL text: `{}`", short(&s.sql)))
                    .hint("Put $1 and $2 in the SQL and .bind(since).bind(until): a DateTime<Utc> binds as a timestamptz, no formatting, no quoting, no time-zone surprises.")
                    .sent(&sent)
                    .fail();
            }
            if !sent.bound(date) && !sent.bound(date.to_rfc3339()) {
                Failure::new(&called)
                    .expected(format!("`{what}` ({date}) among the bind parameters"))
                    .got("no parameter holds it")
                    .hint("Bind the dates: published_at >= $1 AND published_at < $2, with .bind(since).bind(until).")
                    .sent(&sent)
                    .fail();
            }
        }
        if !sent.bound(n) {
            Failure::new(&called)
                .expected(format!("n ({n}) sent as a bind parameter"))
                .got("no parameter holds it: the limit is written into the SQL text")
                .hint("WHERE rank <= $3 with .bind(n): a number pasted into SQL is one `format!` away from a string pasted into SQL.")
                .sent(&sent)
                .fail();
        }
        let want = blog.top_posts(&window, n);
        compare_ranked(&called, &got, &want, &blog, n, &sent);
        expect_rows_at_most(
            &called,
            &sent,
            want.len(),
            "the ranked posts it keeps",
            "rank() in the query and WHERE rank <= $3 around it: the database ranks and cuts, not Rust.",
        );
    });
}

// ---------------------------------------------------------------------------
// reports_of: a recursive CTE
// ---------------------------------------------------------------------------

#[test]
fn reports_of_finds_every_level_below_a_manager_with_its_depth() {
    check(async |db| {
        let org = Org::generate(false);
        org.insert(&db).await;
        let pool = timed_pool(&db);
        let manager = org.manager;
        let called = format!("reports_of(&pool, {manager}) ({} levels below them)", org.levels);
        let (got, sent) = db.wire().during(reports_of(&pool, manager)).await;
        let got = report_ok(&called, got, &sent);
        compare_reports(&called, &got, &org.reports_of(manager), &sent);
        expect_one_statement(
            &called,
            &sent,
            "One WITH RECURSIVE query walks every level in the database; a query per level (or per person) is what an ORM would send, and how deep it goes depends on the loop in your code.",
        );
        pool.close().await;
    });
}

#[test]
fn reports_of_stops_at_a_loop_in_the_reporting_chain() {
    check(async |db| {
        let org = Org::generate(true);
        org.insert(&db).await;
        let pool = timed_pool(&db);
        // The manager at the top of the loop, then one of their direct
        // reports inside it: the loop runs through both.
        for who in [org.manager, org.inside_loop] {
            let called = format!(
                "reports_of(&pool, {who}) where {} reports to {}, who is {} levels below {}",
                org.manager, org.loop_back, org.levels, org.manager
            );
            let (got, sent) = db.wire().during(reports_of(&pool, who)).await;
            let got = report_ok(&called, got, &sent);
            if got.iter().any(|r| r.id == who) {
                Failure::new(&called)
                    .expected(format!("everyone below {who}, but not {who}"))
                    .got(format!("{who} in their own list (at depth {})", got.iter().find(|r| r.id == who).map_or(0, |r| r.depth)))
                    .hint("Follow the chain down from the manager and stop at anyone already on the way, the manager included: start the path as ARRAY[$1, id] (or test e.id <> ALL (path)).")
                    .sent(&sent)
                    .fail();
            }
            compare_reports(&called, &got, &org.reports_of(who), &sent);
            expect_one_statement(&called, &sent, "One WITH RECURSIVE query, which stops at the loop itself.");
        }
        pool.close().await;
    });
}

// ---------------------------------------------------------------------------
// author_stats: aggregates mapped onto a struct
// ---------------------------------------------------------------------------

#[test]
fn author_stats_maps_counts_sums_and_dates_onto_the_struct() {
    check(async |db| {
        let blog = Blog::generate();
        blog.insert(&db).await;
        let called = "author_stats(&pool)".to_owned();
        let (got, sent) = db.wire().during(author_stats(db.app_pool())).await;
        let got = ok(&called, got, &sent);
        let want = blog.author_stats();
        let got_ids: Vec<i64> = got.iter().map(|s| s.author_id).collect();
        let want_ids: Vec<i64> = want.iter().map(|s| s.author_id).collect();
        if let Some(missing) = want.iter().find(|w| !got_ids.contains(&w.author_id)) {
            Failure::new(&called)
                .expected(format!("every author, in id order: {want_ids:?}"))
                .got(format!("{got_ids:?}: author {} ({} posts) is missing", missing.author_id, missing.posts))
                .hint(if missing.posts == 0 {
                    "An author with no posts has no row to join: authors LEFT JOIN posts keeps them, with NULLs for the post's columns."
                } else {
                    "Every author must come back once."
                })
                .sent(&sent)
                .fail();
        }
        if got_ids != want_ids {
            Failure::new(&called)
                .expected(format!("authors in id order: {want_ids:?}"))
                .got(format!("{got_ids:?}"))
                .hint("GROUP BY the author and ORDER BY their id.")
                .sent(&sent)
                .fail();
        }
        for (g, w) in got.iter().zip(&want) {
            if g != w {
                let hint = if w.posts == 0 && g.posts == 1 {
                    "count(*) counts the row the LEFT JOIN made for an author with no posts; count(p.id) counts only real posts."
                } else if w.posts == 0 && g.total_likes != 0 {
                    "sum() of nothing is NULL; coalesce(sum(p.likes), 0) makes it 0."
                } else {
                    "Each column is matched to the field of the same name: alias them (count(p.id) AS posts, ...)."
                };
                Failure::new(&called).expected(format!("{w:?}")).got(format!("{g:?}")).hint(hint).sent(&sent).fail();
            }
        }
        expect_one_statement(&called, &sent, "One statement: authors LEFT JOIN posts, GROUP BY the author.");
        expect_rows_at_most(
            &called,
            &sent,
            want.len(),
            "one row per author",
            "Let the database count and add up (count, sum, max with GROUP BY) instead of fetching every post and adding up in Rust.",
        );
    });
}

// ---------------------------------------------------------------------------
// search_posts: a sort column from a whitelist, every value bound
// ---------------------------------------------------------------------------

#[test]
fn search_posts_sorts_by_each_allowed_column_in_both_directions() {
    check(async |db| {
        let blog = Blog::generate();
        blog.insert(&db).await;
        let text = blog.common_fragment();
        for sort in ["title", "likes", "published_at"] {
            for direction in ["asc", "desc"] {
                let matching = blog.search(&text, sort, direction, i64::MAX).len() as i64;
                let limit = data::int(2.max(matching - 4)..matching.max(3));
                let called = format!("search_posts(&pool, {text:?}, {sort:?}, {direction:?}, {limit})");
                let (got, sent) = db.wire().during(search_posts(db.app_pool(), &text, sort, direction, limit)).await;
                let got = match got {
                    Ok(posts) => posts,
                    Err(e) => Failure::new(&called).expected("Ok(posts)").got(format!("Err({e:?})")).sent(&sent).fail(),
                };
                let want = blog.search(&text, sort, direction, limit);
                if got != want {
                    let same_set = ids_sorted(&got) == ids_sorted(&want);
                    let hint = if same_set {
                        "Right posts, wrong order: ORDER BY the column, in the direction asked, then id (lowest first) for ties."
                    } else if got.len() > want.len() {
                        "LIMIT $2, bound to limit."
                    } else {
                        "The posts whose title contains the text: strpos(title, $1) > 0."
                    };
                    Failure::new(&called)
                        .expected(format!("{} posts: {}", want.len(), show_posts(&want, sort)))
                        .got(format!("{} posts: {}", got.len(), show_posts(&got, sort)))
                        .hint(hint)
                        .sent(&sent)
                        .fail();
                }
                expect_rows_at_most(
                    &called,
                    &sent,
                    want.len(),
                    "the posts it returns",
                    "ORDER BY and LIMIT in the SQL: sorting and cutting in Rust means fetching every match first.",
                );
                if !sent.bound(limit) {
                    Failure::new(&called)
                        .expected(format!("the limit ({limit}) sent as a bind parameter"))
                        .got("no parameter holds it")
                        .hint("LIMIT $2 with .bind(limit).")
                        .sent(&sent)
                        .fail();
                }
            }
        }
    });
}

#[test]
fn search_posts_refuses_a_sort_column_or_direction_not_on_the_list() {
    check(async |db| {
        let blog = Blog::generate();
        blog.insert(&db).await;
        let text = blog.common_fragment();
        let table = data::word(6);
        let columns = [
            format!("likes; DROP TABLE posts; --{table}"),
            "id".to_owned(),
            "author_id".to_owned(),
            format!("(SELECT count(*) FROM authors WHERE name <> '{table}')"),
            "likes DESC, title".to_owned(),
            "\"likes\"".to_owned(),
            String::new(),
        ];
        let directions =
            [format!("desc; DELETE FROM posts; --{table}"), "sideways".to_owned(), "asc, id".to_owned(), String::new()];
        let valid_sort = ["title", "likes", "published_at"][data::int(0..3) as usize];
        let valid_direction = ["asc", "desc"][data::int(0..2) as usize];
        let mut attempts: Vec<(String, String, String)> =
            columns.iter().map(|c| (c.clone(), valid_direction.to_owned(), c.clone())).collect();
        attempts.extend(directions.iter().map(|d| (valid_sort.to_owned(), d.clone(), d.clone())));
        for (sort, direction, refused) in attempts {
            let called = format!("search_posts(&pool, {text:?}, {sort:?}, {direction:?}, 10)");
            let (got, sent) = db.wire().during(search_posts(db.app_pool(), &text, &sort, &direction, 10)).await;
            let fine = matches!(&got, Err(SearchError::BadSort(v)) if *v == refused);
            if !fine {
                let shown = match &got {
                    Ok(posts) => format!("Ok({} posts)", posts.len()),
                    Err(e) => format!("Err({e:?})"),
                };
                let pasted = sent.pasted(&refused).filter(|_| !refused.is_empty());
                let got_text = match pasted {
                    Some(s) => format!("{shown}, and the value went into the SQL text: `{}`", short(&s.sql)),
                    None => shown,
                };
                Failure::new(&called)
                    .expected(format!("Err(BadSort({refused:?})), and no SQL sent"))
                    .got(got_text)
                    .hint(
                        "A column name cannot be a bind parameter, so it is tempting to format! it into the SQL, and \
                         then the caller writes your SQL. Match sort against the three names and direction against \
                         asc/desc, each arm giving a &'static str you wrote yourself; anything else is BadSort.",
                    )
                    .sent(&sent)
                    .fail();
            }
            if !sent.all().is_empty() {
                Failure::new(&called)
                    .expected("no SQL sent for a request that is refused")
                    .got(format!("{} statement(s)", sent.all().len()))
                    .hint("Check sort and direction before building or sending any query.")
                    .sent(&sent)
                    .fail();
            }
        }
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| setup_failed("counting posts after the attempts", e));
        if left != blog.posts.len() as i64 {
            Failure::new("SELECT count(*) FROM posts, after the injection attempts")
                .expected(format!("{} posts", blog.posts.len()))
                .got(format!("{left}"))
                .fail();
        }
    });
}

#[test]
fn search_posts_sends_hostile_search_text_as_a_bind_parameter() {
    check(async |db| {
        let mut blog = Blog::generate();
        let hostile = blog.plant_hostile_titles();
        blog.insert(&db).await;
        for text in hostile {
            let limit = data::int(20..40);
            let (sort, direction) = (
                ["title", "likes", "published_at"][data::int(0..3) as usize],
                ["asc", "desc"][data::int(0..2) as usize],
            );
            let called = format!("search_posts(&pool, {text:?}, {sort:?}, {direction:?}, {limit})");
            let (got, sent) = db.wire().during(search_posts(db.app_pool(), &text, sort, direction, limit)).await;
            if let Some(s) = sent.pasted(&text).filter(|_| text.chars().count() >= 3) {
                Failure::new(&called)
                    .expected(format!("{text:?} sent as a bind parameter"))
                    .got(format!("it went into the SQL text: `{}`", short(&s.sql)))
                    .hint(
                        "Escaping quotes yourself (Sequelize's `replacements` do it for you) still builds SQL out of \
                         the caller's text. A bind parameter never becomes SQL: strpos(title, $1) > 0 with .bind(text).",
                    )
                    .sent(&sent)
                    .fail();
            }
            let got = match got {
                Ok(posts) => posts,
                Err(e) => Failure::new(&called)
                    .expected("Ok(the posts whose title contains that text)")
                    .got(format!("Err({e:?})"))
                    .hint("Bind the text as a parameter; then quotes and semicolons in it are just characters.")
                    .sent(&sent)
                    .fail(),
            };
            let want = blog.search(&text, sort, direction, limit);
            if got != want {
                let hint = if got.len() > want.len() && (text.contains('%') || text.contains('_')) {
                    "LIKE reads % and _ as wildcards even in a bound value, so `title LIKE '%' || $1 || '%'` matches \
                     more than the text. strpos(title, $1) > 0 looks for exactly those characters."
                } else {
                    "Exactly the posts whose title contains the text, character for character."
                };
                Failure::new(&called)
                    .expected(format!("{} posts: {}", want.len(), show_posts(&want, sort)))
                    .got(format!("{} posts: {}", got.len(), show_posts(&got, sort)))
                    .hint(hint)
                    .sent(&sent)
                    .fail();
            }
            if !sent.bound(text.as_str()) {
                Failure::new(&called)
                    .expected(format!("{text:?} among the bind parameters"))
                    .got("no parameter holds it")
                    .hint("strpos(title, $1) > 0 with .bind(text).")
                    .sent(&sent)
                    .fail();
            }
        }
    });
}

// ---------------------------------------------------------------------------
// latest_posts_per_author: LATERAL
// ---------------------------------------------------------------------------

#[test]
fn latest_posts_per_author_gives_each_author_their_n_newest_posts() {
    check(async |db| {
        let n = data::int(2..4);
        let mut blog = Blog::generate();
        blog.plant_same_instant(n);
        blog.insert(&db).await;
        let called = format!("latest_posts_per_author(&pool, {n})");
        let (got, sent) = db.wire().during(latest_posts_per_author(db.app_pool(), n)).await;
        let got = ok(&called, got, &sent);
        let want = blog.latest_posts(n);
        let got_ids: Vec<i64> = got.iter().map(|a| a.author.id).collect();
        let want_ids: Vec<i64> = want.iter().map(|a| a.author.id).collect();
        if got_ids != want_ids {
            let missing = want.iter().find(|w| !got_ids.contains(&w.author.id));
            let hint = match missing {
                Some(m) if m.posts.is_empty() => {
                    "An author with no posts must stay: LEFT JOIN LATERAL (...) p ON true keeps them, with NULL post columns."
                }
                _ => "One entry per author, in id order.",
            };
            Failure::new(&called)
                .expected(format!("authors {want_ids:?}"))
                .got(format!("authors {got_ids:?}"))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
        for (g, w) in got.iter().zip(&want) {
            if g != w {
                let hint = if g.posts.len() > n as usize {
                    format!(
                        "At most {n} posts per author: the LIMIT goes inside the LATERAL subquery, which runs once per author."
                    )
                } else {
                    "Newest first: ORDER BY published_at DESC, id DESC inside the subquery (and again outside, for the rows' order).".to_owned()
                };
                Failure::new(&called)
                    .expected(format!("author {}: {}", w.author.id, show_posts(&w.posts, "published_at")))
                    .got(show_posts(&g.posts, "published_at"))
                    .hint(hint)
                    .sent(&sent)
                    .fail();
            }
        }
    });
}

#[test]
fn latest_posts_per_author_takes_one_statement_and_sends_only_the_rows_it_keeps() {
    check(async |db| {
        let n = data::int(2..4);
        let mut blog = Blog::generate();
        blog.plant_same_instant(n);
        blog.insert(&db).await;
        let called = format!("latest_posts_per_author(&pool, {n}) with {} authors", blog.authors.len());
        let (got, sent) = db.wire().during(latest_posts_per_author(db.app_pool(), n)).await;
        ok(&called, got, &sent);
        let queries = sent.queries();
        if queries.len() != 1 {
            let hint = if queries.len() > blog.authors.len() {
                "One query per author is the N+1 problem, the way a loop over authors would run it. LATERAL runs the \
                 per-author subquery inside the database, in one statement."
            } else {
                "One statement: authors LEFT JOIN LATERAL (the author's newest posts, LIMIT $1) p ON true."
            };
            Failure::new(&called)
                .expected("1 statement")
                .got(format!("{} statements", queries.len()))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
        let kept: usize = blog.latest_posts(n).iter().map(|a| a.posts.len().max(1)).sum();
        if sent.rows_returned() > kept as u64 {
            Failure::new(&called)
                .expected(format!("at most {kept} rows over the wire: each author's {n} newest posts (one row for an author with none)"))
                .got(format!("{} rows", sent.rows_returned()))
                .hint("Let the database cut each author's posts to n (LIMIT inside LATERAL) instead of fetching them all and cutting in Rust.")
                .sent(&sent)
                .fail();
        }
        if !sent.bound(n) {
            Failure::new(&called)
                .expected(format!("n ({n}) sent as a bind parameter"))
                .got("no parameter holds it")
                .hint("LIMIT $1 inside the subquery, with .bind(n).")
                .sent(&sent)
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// The blog each check loads
// ---------------------------------------------------------------------------

struct Blog {
    authors: Vec<Author>,
    posts: Vec<Post>,
    /// Ids already used for posts.
    next_post: i64,
    start: DateTime<Utc>,
}

/// The date range `top_posts` is asked about.
struct Window {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.since && at < self.until
    }
}

impl Blog {
    /// 6 to 9 authors (two of them with no posts), each with up to 7
    /// posts spread over 90 days.
    fn generate() -> Blog {
        let start = DateTime::from_timestamp(1_650_000_000 + data::int(0..90_000_000), 0).expect("a valid time");
        let mut id = data::int(1..300);
        let authors: Vec<Author> = (0..data::int(6..10))
            .map(|_| {
                id += data::int(1..5);
                Author { id, name: data::name() }
            })
            .collect();
        let mut blog = Blog { authors, posts: Vec::new(), next_post: data::int(1..500), start };
        let silent: Vec<i64> = blog.authors.iter().rev().take(2).map(|a| a.id).collect();
        for a in blog.authors.clone() {
            if silent.contains(&a.id) {
                continue;
            }
            for _ in 0..data::int(2..8) {
                let at = blog.start + TimeDelta::seconds(data::int(0..90 * 86_400));
                blog.add(a.id, data::int(0..60) as i32, at);
            }
        }
        shuffle(&mut blog.authors);
        blog.authors.sort_by_key(|a| a.id);
        blog
    }

    fn add(&mut self, author_id: i64, likes: i32, published_at: DateTime<Utc>) -> i64 {
        self.next_post += data::int(1..4);
        let title = format!("{} {}", data::word(data::int(4..9) as usize), data::word(data::int(3..8) as usize));
        self.posts.push(Post { id: self.next_post, author_id, title, likes, published_at });
        self.next_post
    }

    fn post(&self, id: i64) -> &Post {
        self.posts.iter().find(|p| p.id == id).expect("a generated post")
    }

    /// A 30-day window in the middle of the blog's 90 days.
    fn window(&self) -> Window {
        let since = self.start + TimeDelta::seconds(data::int(20..40) * 86_400 + data::int(0..86_400));
        Window { since, until: since + TimeDelta::days(30) }
    }

    /// Two authors whose posts inside the window tie on likes where it
    /// matters: one tied at the top (so counting ranks without gaps keeps
    /// one post too many), one tied exactly at rank `n` (so numbering rows
    /// drops one of the tied posts).
    fn plant_ties(&mut self, n: i64, window: &Window) {
        let writers: Vec<i64> =
            self.authors.iter().map(|a| a.id).filter(|id| self.posts.iter().any(|p| p.author_id == *id)).collect();
        let (top, edge) = (writers[0], writers[1]);
        let mut likes: Vec<i32> = Vec::new();
        let mut value = data::int(200..300) as i32;
        for _ in 0..n + 2 {
            likes.push(value);
            value -= data::int(3..20) as i32;
        }
        // top: the first two tied.
        let mut top_likes = likes.clone();
        top_likes[1] = top_likes[0];
        // edge: positions n and n + 1 tied.
        let mut edge_likes = likes;
        edge_likes[n as usize] = edge_likes[n as usize - 1];
        for (author, list) in [(top, top_likes), (edge, edge_likes)] {
            let mut list = list;
            shuffle(&mut list);
            for l in list {
                let at = window.since + TimeDelta::seconds(data::int(1..29 * 86_400));
                self.add(author, l, at);
            }
        }
    }

    /// For every author with posts: the two most liked posts of all just
    /// outside the window (a second before `since`, and at `until`
    /// exactly), and one at `since` exactly, liked more than anything else
    /// inside.
    fn plant_edges(&mut self, window: &Window) {
        let writers: Vec<i64> =
            self.authors.iter().map(|a| a.id).filter(|id| self.posts.iter().any(|p| p.author_id == *id)).collect();
        for a in writers {
            let best = self.posts.iter().filter(|p| p.author_id == a).map(|p| p.likes).max().unwrap_or(0);
            self.add(a, best + data::int(60..90) as i32, window.since - TimeDelta::seconds(1));
            self.add(a, best + data::int(60..90) as i32, window.until);
            self.add(a, best + data::int(20..50) as i32, window.since);
        }
    }

    /// Two posts of one author published at the same instant, right at the
    /// cut of their `n` newest, so the tie is broken by id.
    fn plant_same_instant(&mut self, n: i64) {
        let writer = self
            .authors
            .iter()
            .map(|a| a.id)
            .find(|id| self.posts.iter().any(|p| p.author_id == *id))
            .expect("authors with posts");
        let mut times: Vec<DateTime<Utc>> =
            self.posts.iter().filter(|p| p.author_id == writer).map(|p| p.published_at).collect();
        times.sort();
        times.reverse();
        // Newer than all but n - 1 of their posts.
        let at = match times.get(n as usize - 2) {
            Some(t) => *t - TimeDelta::seconds(1),
            None => self.start + TimeDelta::days(100),
        };
        self.add(writer, data::int(0..60) as i32, at);
        self.add(writer, data::int(0..60) as i32, at);
        self.add(writer, data::int(0..60) as i32, at);
    }

    /// Titles that attack a query built by pasting text, and one fragment
    /// of each to search for: quotes, a statement terminator, LIKE's
    /// wildcards, a backslash.
    fn plant_hostile_titles(&mut self) -> Vec<String> {
        let tag = data::word(4);
        let texts = vec![
            format!("O'Brien{tag}"),
            format!("'; DROP TABLE posts; --{tag}"),
            format!("' OR '1'='1{tag}"),
            "%".to_owned(),
            "_".to_owned(),
            format!("back\\slash{tag}"),
        ];
        let writers: Vec<i64> =
            self.authors.iter().map(|a| a.id).filter(|id| self.posts.iter().any(|p| p.author_id == *id)).collect();
        for (i, text) in texts.iter().enumerate() {
            let author = writers[i % writers.len()];
            let at = self.start + TimeDelta::seconds(data::int(0..90 * 86_400));
            let likes = data::int(0..60) as i32;
            let id = self.add(author, likes, at);
            let post = self.posts.iter_mut().find(|p| p.id == id).expect("just added");
            post.title = format!("{} {text} {}", data::word(4), data::word(3));
        }
        texts
    }

    /// A piece of text that about half the titles contain.
    fn common_fragment(&self) -> String {
        let mut counts: BTreeMap<char, usize> = BTreeMap::new();
        for p in &self.posts {
            for c in p.title.chars().filter(char::is_ascii_lowercase).collect::<BTreeSet<_>>() {
                *counts.entry(c).or_insert(0) += 1;
            }
        }
        let half = self.posts.len() / 2;
        counts
            .into_iter()
            .min_by_key(|(_, n)| n.abs_diff(half))
            .map(|(c, _)| c.to_string())
            .unwrap_or_else(|| "a".into())
    }

    async fn insert(&self, db: &Db) {
        schema(db).await;
        sqlx::query(
            "WITH a AS (
                 INSERT INTO authors (id, name) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::text[])
             )
             INSERT INTO posts (id, author_id, title, likes, published_at) OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::timestamptz[])",
        )
        .bind(self.authors.iter().map(|a| a.id).collect::<Vec<_>>())
        .bind(self.authors.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
        .bind(self.posts.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(self.posts.iter().map(|p| p.author_id).collect::<Vec<_>>())
        .bind(self.posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>())
        .bind(self.posts.iter().map(|p| p.likes).collect::<Vec<_>>())
        .bind(self.posts.iter().map(|p| p.published_at).collect::<Vec<_>>())
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("loading the check's blog", e));
    }

    // The answers, worked out from the data.

    fn top_posts(&self, window: &Window, n: i64) -> Vec<RankedPost> {
        self.rank(|p| window.contains(p.published_at), |_| true, n)
    }

    /// Each author's posts for which `ranked` holds, ranked by likes with
    /// ties sharing a rank; those for which `kept` holds and whose rank is
    /// `n` or better.
    fn rank(&self, ranked: impl Fn(&Post) -> bool, kept: impl Fn(&Post) -> bool, n: i64) -> Vec<RankedPost> {
        let mut out = Vec::new();
        for a in &self.authors {
            let inside: Vec<&Post> = self.posts.iter().filter(|p| p.author_id == a.id && ranked(p)).collect();
            for p in &inside {
                let rank = 1 + inside.iter().filter(|q| q.likes > p.likes).count() as i64;
                if rank <= n && kept(p) {
                    out.push(RankedPost {
                        author_id: a.id,
                        post_id: p.id,
                        title: p.title.clone(),
                        likes: p.likes,
                        rank,
                    });
                }
            }
        }
        out.sort_by_key(|r| (r.author_id, r.rank, r.post_id));
        out
    }

    fn author_stats(&self) -> Vec<AuthorStats> {
        self.authors
            .iter()
            .map(|a| {
                let theirs: Vec<&Post> = self.posts.iter().filter(|p| p.author_id == a.id).collect();
                AuthorStats {
                    author_id: a.id,
                    name: a.name.clone(),
                    posts: theirs.len() as i64,
                    total_likes: theirs.iter().map(|p| i64::from(p.likes)).sum(),
                    last_published: theirs.iter().map(|p| p.published_at).max(),
                }
            })
            .collect()
    }

    fn search(&self, text: &str, sort: &str, direction: &str, limit: i64) -> Vec<Post> {
        let mut found: Vec<Post> = self.posts.iter().filter(|p| p.title.contains(text)).cloned().collect();
        found.sort_by(|a, b| {
            let by = match sort {
                "title" => a.title.cmp(&b.title),
                "likes" => a.likes.cmp(&b.likes),
                _ => a.published_at.cmp(&b.published_at),
            };
            let by = if direction == "desc" { by.reverse() } else { by };
            by.then(a.id.cmp(&b.id))
        });
        found.truncate(limit.max(0).min(found.len() as i64) as usize);
        found
    }

    fn latest_posts(&self, n: i64) -> Vec<AuthorWithPosts> {
        self.authors
            .iter()
            .map(|a| {
                let mut posts: Vec<Post> = self.posts.iter().filter(|p| p.author_id == a.id).cloned().collect();
                posts.sort_by(|x, y| y.published_at.cmp(&x.published_at).then(y.id.cmp(&x.id)));
                posts.truncate(n as usize);
                AuthorWithPosts { author: a.clone(), posts }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The org chart
// ---------------------------------------------------------------------------

struct Org {
    /// (id, name, manager_id)
    people: Vec<(i64, String, Option<i64>)>,
    /// The manager the checks ask about.
    manager: i64,
    /// How many levels there are below them.
    levels: i32,
    /// With a loop: the person deepest below `manager`, whom `manager`
    /// reports to.
    loop_back: i64,
    /// With a loop: a direct report of `manager` on the way to `loop_back`.
    inside_loop: i64,
}

impl Org {
    /// A company with a chief at the top, the manager two levels down with
    /// 3 to 5 levels below them, other teams beside theirs, and a loop of
    /// three people who report to each other, out of everyone's way. With
    /// `looped`, the manager reports to the deepest person below them.
    fn generate(looped: bool) -> Org {
        let mut ids: Vec<i64> = Vec::new();
        let mut next = data::int(1..200);
        let total = 60;
        for _ in 0..total {
            next += data::int(1..4);
            ids.push(next);
        }
        // Ids in no particular order down the chart, so id order is never
        // depth order.
        shuffle(&mut ids);
        let mut take = ids.into_iter();
        let mut people: Vec<(i64, String, Option<i64>)> = Vec::new();
        let mut person = |manager: Option<i64>, people: &mut Vec<(i64, String, Option<i64>)>| {
            let id = take.next().expect("enough ids");
            people.push((id, data::name(), manager));
            id
        };
        let chief = person(None, &mut people);
        let heads: Vec<i64> = (0..3).map(|_| person(Some(chief), &mut people)).collect();
        let manager = person(Some(heads[0]), &mut people);
        // Other teams: reports of the other heads, two levels.
        for head in &heads[1..] {
            for _ in 0..2 {
                let lead = person(Some(*head), &mut people);
                person(Some(lead), &mut people);
            }
        }
        let levels = data::int(3..6) as i32;
        let mut level = vec![manager];
        let mut path = Vec::new();
        for _ in 0..levels {
            let mut next_level = Vec::new();
            for i in 0..data::int(1..4) {
                let boss = if i == 0 { level[0] } else { level[data::int(0..level.len() as i64) as usize] };
                next_level.push(person(Some(boss), &mut people));
            }
            path.push(next_level[0]);
            level = next_level;
        }
        // The three who report to each other.
        let (x, y, z) = (person(None, &mut people), person(None, &mut people), person(None, &mut people));
        for (who, boss) in [(x, y), (y, z), (z, x)] {
            if let Some(p) = people.iter_mut().find(|p| p.0 == who) {
                p.2 = Some(boss);
            }
        }
        let loop_back = *path.last().expect("levels below the manager");
        if looped && let Some(p) = people.iter_mut().find(|p| p.0 == manager) {
            p.2 = Some(loop_back);
        }
        Org { people, manager, levels, loop_back, inside_loop: path[0] }
    }

    async fn insert(&self, db: &Db) {
        schema(db).await;
        // Everyone first, then the managers: the loop's foreign keys need
        // every row in place.
        sqlx::query(
            "WITH e AS (
                 INSERT INTO employees (id, name) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::text[]) RETURNING id
             )
             SELECT count(*) FROM e",
        )
        .bind(self.people.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(self.people.iter().map(|p| p.1.clone()).collect::<Vec<_>>())
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("loading the check's employees", e));
        sqlx::query(
            "UPDATE employees e SET manager_id = m.manager_id
             FROM UNNEST($1::bigint[], $2::bigint[]) AS m(id, manager_id) WHERE e.id = m.id",
        )
        .bind(self.people.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(self.people.iter().map(|p| p.2).collect::<Vec<_>>())
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("setting the check's managers", e));
    }

    /// Everyone below `top`, breadth first, never back to someone already
    /// reached (`top` included).
    fn reports_of(&self, top: i64) -> Vec<Report> {
        let mut seen = BTreeSet::from([top]);
        let mut queue = VecDeque::from([(top, 0)]);
        let mut out = Vec::new();
        while let Some((boss, depth)) = queue.pop_front() {
            for (id, name, _) in self.people.iter().filter(|p| p.2 == Some(boss)) {
                if seen.insert(*id) {
                    out.push(Report { id: *id, name: name.clone(), manager_id: boss, depth: depth + 1 });
                    queue.push_back((*id, depth + 1));
                }
            }
        }
        out.sort_by_key(|r| (r.depth, r.id));
        out
    }
}

/// Creates the tables. The schema is the course's, not the student's
/// (only `src/` is editable), so the check runs `0001_blog.up.sql` in one
/// round trip instead of through the migrator.
async fn schema(db: &Db) {
    let file = workbook::exercise::path("migrations/0001_blog.up.sql");
    let sql = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| Failure::new(format!("reading {}", file.display())).got(e.to_string()).fail());
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| setup_failed("creating the tables of migrations/0001_blog.up.sql", e));
}

/// A pool to the app URL whose statements stop after a second, so a query
/// that never ends comes back as an error instead of hanging the check.
fn timed_pool(db: &Db) -> PgPool {
    let options = PgConnectOptions::from_str(&db.app_url())
        .expect("the relay's URL parses")
        .options([("statement_timeout", "1s")]);
    PgPoolOptions::new().max_connections(2).acquire_timeout(Duration::from_secs(5)).connect_lazy_with(options)
}

// ---------------------------------------------------------------------------
// Judging
// ---------------------------------------------------------------------------

fn ok<T>(called: &str, result: Result<T, sqlx::Error>, sent: &Traffic) -> T {
    result.unwrap_or_else(|e| {
        let hint = match e.as_database_error().and_then(|d| d.code()).as_deref() {
            Some("42703") => "A column that does not exist: the tables are in migrations/0001_blog.up.sql.",
            _ if matches!(e, sqlx::Error::ColumnNotFound(_)) => {
                "FromRow looks for a column named after each field: alias the column (AS name) to match the struct."
            }
            _ if matches!(e, sqlx::Error::ColumnDecode { .. }) => {
                "A column's type must match its field's: bigint is i64, integer is i32, count() is bigint, sum() \
                 of integer is bigint, sum() of bigint is numeric (cast it: ::bigint)."
            }
            _ => "Read the error: it names what PostgreSQL or sqlx refused.",
        };
        Failure::new(called).expected("Ok(..)").got(format!("Err({e})")).hint(hint).sent(sent).fail()
    })
}

fn report_ok(called: &str, result: Result<Vec<Report>, sqlx::Error>, sent: &Traffic) -> Vec<Report> {
    if let Err(e) = &result
        && e.as_database_error().and_then(|d| d.code()).as_deref() == Some("57014")
    {
        Failure::new(called)
            .expected("the list of reports")
            .got(format!("Err({e}): the query ran for a whole second and was cancelled"))
            .hint(
                "The recursion never stops: the chain of managers loops, and each round finds the same people \
                 again, one level deeper (UNION cannot help, the depth makes every row new). Carry the ids seen so \
                 far (`path || e.id`) and only follow `e.id <> ALL (path)`, or use CYCLE id SET is_cycle USING path \
                 and keep the rows where NOT is_cycle.",
            )
            .sent(sent)
            .fail();
    }
    ok(called, result, sent)
}

fn expect_one_statement(called: &str, sent: &Traffic, hint: &str) {
    let n = sent.queries().len();
    if n != 1 {
        Failure::new(called).expected("1 statement").got(format!("{n} statements")).hint(hint).sent(sent).fail();
    }
}

fn expect_rows_at_most(called: &str, sent: &Traffic, rows: usize, what: &str, hint: &str) {
    if sent.rows_returned() > rows as u64 {
        Failure::new(called)
            .expected(format!("at most {rows} rows over the wire: {what}"))
            .got(format!("{} rows", sent.rows_returned()))
            .hint(hint)
            .sent(sent)
            .fail();
    }
}

fn compare_ranked(called: &str, got: &[RankedPost], want: &[RankedPost], blog: &Blog, n: i64, sent: &Traffic) {
    if got == want {
        return;
    }
    let got_ids: BTreeSet<i64> = got.iter().map(|r| r.post_id).collect();
    let want_ids: BTreeSet<i64> = want.iter().map(|r| r.post_id).collect();
    let hint = if let Some(extra) = got.iter().find(|r| !want_ids.contains(&r.post_id)) {
        let author: Vec<&RankedPost> = want.iter().filter(|w| w.author_id == extra.author_id).collect();
        if author.iter().any(|w| w.rank == extra.rank) || extra.rank <= n {
            format!(
                "Post {} ({} likes) is not among author {}'s top {n}: ranks must skip after a tie (likes 9, 7, 7, 4 \
                 rank 1, 2, 2, 4). That is rank(); dense_rank() does not skip, so it keeps one post too many.",
                extra.post_id, extra.likes, extra.author_id
            )
        } else {
            "Keep only ranks up to n: WHERE rank <= $3, in the outer query.".to_owned()
        }
    } else if let Some(missing) = want.iter().find(|w| !got_ids.contains(&w.post_id)) {
        let tied = want.iter().filter(|w| w.author_id == missing.author_id && w.likes == missing.likes).count() > 1;
        if tied {
            format!(
                "Post {} ({} likes) is tied with another of author {}'s posts at rank {}: both belong in the list. \
                 row_number() gives tied rows different numbers and so drops one of them; rank() gives them the same.",
                missing.post_id, missing.likes, missing.author_id, missing.rank
            )
        } else {
            let p = blog.post(missing.post_id);
            format!("Post {} ({} likes, published {}) should be there.", p.id, p.likes, p.published_at)
        }
    } else if got.iter().zip(want).any(|(g, w)| g.rank != w.rank) {
        "Right posts, wrong ranks: rank() OVER (PARTITION BY author_id ORDER BY likes DESC).".to_owned()
    } else {
        "Right posts, wrong order: ORDER BY author_id, rank, post_id.".to_owned()
    };
    Failure::new(called)
        .expected(format!("{} rows:{}", want.len(), show_ranked(want)))
        .got(format!("{} rows:{}", got.len(), show_ranked(got)))
        .hint(hint)
        .sent(sent)
        .fail();
}

fn compare_reports(called: &str, got: &[Report], want: &[Report], sent: &Traffic) {
    if got == want {
        return;
    }
    let deepest = want.iter().map(|r| r.depth).max().unwrap_or(0);
    let got_deepest = got.iter().map(|r| r.depth).max().unwrap_or(0);
    let mut seen = BTreeMap::new();
    for r in got {
        *seen.entry(r.id).or_insert(0) += 1;
    }
    let hint = if let Some((id, times)) = seen.iter().find(|(_, n)| **n > 1) {
        format!("Employee {id} is listed {times} times: stop following the chain at anyone already on the way.")
    } else if got.iter().map(|r| r.id).collect::<BTreeSet<_>>() == want.iter().map(|r| r.id).collect() {
        if got.iter().zip(want).all(|(g, w)| g.id == w.id)
            || got.iter().any(|g| want.iter().any(|w| w.id == g.id && w.depth != g.depth))
        {
            "The right people, with the wrong depth: a direct report is at depth 1, and each step down adds 1."
                .to_owned()
        } else {
            "The right people, in the wrong order: ORDER BY depth, id.".to_owned()
        }
    } else if got_deepest < deepest {
        format!(
            "The reports stop at depth {got_deepest}, but the chart goes {deepest} levels down. A join per level only \
             goes as deep as you wrote joins; WITH RECURSIVE goes until a round finds nobody new."
        )
    } else {
        "Everyone whose chain of managers leads up to this one, and nobody else.".to_owned()
    };
    let show = |rs: &[Report]| {
        let lines: Vec<String> =
            rs.iter().take(SHOWN).map(|r| format!("{} (depth {}, under {})", r.id, r.depth, r.manager_id)).collect();
        let more = if rs.len() > SHOWN { format!(", … {} more", rs.len() - SHOWN) } else { String::new() };
        format!("{}{more}", lines.join(", "))
    };
    Failure::new(called)
        .expected(format!("{} reports: {}", want.len(), show(want)))
        .got(format!("{} reports: {}", got.len(), show(got)))
        .hint(hint)
        .sent(sent)
        .fail();
}

fn show_ranked(rows: &[RankedPost]) -> String {
    let mut out = String::new();
    for r in rows.iter().take(SHOWN * 2) {
        out.push_str(&format!(
            "\n          author {} post {} likes {} rank {}",
            r.author_id, r.post_id, r.likes, r.rank
        ));
    }
    if rows.len() > SHOWN * 2 {
        out.push_str(&format!("\n          … {} more", rows.len() - SHOWN * 2));
    }
    out
}

fn show_posts(posts: &[Post], sort: &str) -> String {
    let shown: Vec<String> = posts
        .iter()
        .take(SHOWN)
        .map(|p| match sort {
            "title" => format!("{} {:?}", p.id, p.title),
            "likes" => format!("{} ({} likes)", p.id, p.likes),
            _ => format!("{} ({})", p.id, p.published_at),
        })
        .collect();
    let more = if posts.len() > SHOWN { format!(", … {} more", posts.len() - SHOWN) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

fn ids_sorted(posts: &[Post]) -> Vec<i64> {
    let mut ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    ids
}

fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, data::int(0..i as i64 + 1) as usize);
    }
}

fn short(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 140 { format!("{} …", one.chars().take(140).collect::<String>()) } else { one }
}

fn setup_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what)
        .expected("the check's own SQL to run")
        .got(e.to_string())
        .hint("The checks use the tables in migrations/0001_blog.up.sql as given: keep them.")
        .fail()
}
