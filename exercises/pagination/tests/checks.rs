//! The checks for `pagination`. Each test is one check; its name says what
//! it expects. Run them with `cargo checker run pagination`.
//!
//! Every check builds a forum of its own from data generated for this run:
//! users with many posts, a few, or none; names shared by several users;
//! posts that share a timestamp. The traps are planted so that each classic
//! mistake fails every run: the first user on the first page has many
//! posts, ties in the feed's sort key straddle every page boundary, and
//! between two feed pages the check writes and deletes posts. Totals and
//! pages are compared with what the generated data says, and the wire shows
//! what each call sent.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use pagination::{FeedPage, MAX_LIMIT, PageError, Post, User, UserWithPosts, UsersPage, feed, users_writing_about};
use workbook::wire::{Statement, Traffic, Value};
use workbook::{Db, Failure, check, data};

// ---------------------------------------------------------------------------
// Counting and paging users with their posts.
// ---------------------------------------------------------------------------

#[test]
fn the_total_counts_users_not_the_rows_of_their_posts() {
    check(async |db| {
        let forum = Forum::new_in(&db).await;
        let topic = &forum.topic;
        let limit = data::int(4..8);
        let want = forum.writers().len() as i64;
        let called = format!("users_writing_about(&pool, {topic:?}, {limit}, 0)");
        let (page, sent) = db.wire().during(users_writing_about(db.app_pool(), topic, limit, 0)).await;
        let page = ok(&called, page);
        if page.total != want {
            let diagnosis = forum.diagnose_total(page.total, limit, 0);
            Failure::new(called)
                .expected(format!("total = {want}: the users with at least one post on {topic:?}"))
                .got(format!("total = {}{diagnosis}", page.total))
                .hint(
                    "A join has one row per (user, post) pair, so count(*) over it counts posts. Count the users: \
                     count(DISTINCT u.id) over the join, or count(*) FROM users WHERE EXISTS (a post of theirs on \
                     the topic). Sequelize needs `distinct: true` in findAndCountAll for the same reason.",
                )
                .sent(&sent)
                .fail();
        }

        // The total is of the whole listing: the page does not change it.
        let past = want + data::int(1..5);
        let called = format!("users_writing_about(&pool, {topic:?}, {limit}, {past}) (an offset past the last user)");
        let (page, sent) = db.wire().during(users_writing_about(db.app_pool(), topic, limit, past)).await;
        let page = ok(&called, page);
        if page.total != want || !page.users.is_empty() {
            Failure::new(called)
                .expected(format!("total = {want} and no users: the page is empty, the listing is not"))
                .got(format!("total = {} and {} users", page.total, page.users.len()))
                .hint(
                    "Count in a query of its own (or with count(*) OVER () before LIMIT applies), never from the \
                     rows of the page.",
                )
                .sent(&sent)
                .fail();
        }

        let nobody = format!("{}{}", data::word(5), data::int(10..99));
        let called = format!("users_writing_about(&pool, {nobody:?}, {limit}, 0) (a topic nobody writes about)");
        let page = ok(&called, users_writing_about(db.app_pool(), &nobody, limit, 0).await);
        if page.total != 0 || !page.users.is_empty() {
            Failure::new(called)
                .expected("total = 0 and no users")
                .got(format!("total = {} and {} users", page.total, page.users.len()))
                .hint("The topic filters the users: only users with a post on it are counted and listed.")
                .fail();
        }
    });
}

#[test]
fn a_page_holds_limit_users_whatever_their_post_counts() {
    check(async |db| {
        let forum = Forum::new_in(&db).await;
        let topic = &forum.topic;
        let limit = data::int(4..8);
        let called = format!("users_writing_about(&pool, {topic:?}, {limit}, 0)");
        let (page, sent) = db.wire().during(users_writing_about(db.app_pool(), topic, limit, 0)).await;
        let page = ok(&called, page);
        let want = forum.page(limit, 0);
        let got_ids: Vec<i64> = page.users.iter().map(|u| u.user.id).collect();
        let want_ids: Vec<i64> = want.iter().map(|u| u.user.id).collect();
        if got_ids != want_ids {
            let posts: usize = page.users.iter().map(|u| u.posts.len()).sum();
            let hint = if page.users.len() < want.len() && posts as i64 <= limit {
                format!(
                    "The page came back with {} users and {posts} posts: LIMIT {limit} counted rows of the join \
                     (one per post), not users. Apply LIMIT and OFFSET to a query whose rows are users (a \
                     subquery, or a query of its own), then load their posts: what Sequelize's subquery does.",
                    page.users.len()
                )
            } else {
                "The page is the users with a post on the topic, ORDER BY name, id, then LIMIT and OFFSET on \
                 those users."
                    .to_owned()
            };
            Failure::new(called)
                .expected(format!("{} users, in this order: {}", want.len(), show_users(&want)))
                .got(format!("{} users: {}", page.users.len(), show_users(&page.users)))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn each_user_on_a_page_comes_with_all_their_posts_on_the_topic_and_no_others() {
    check(async |db| {
        let forum = Forum::new_in(&db).await;
        let topic = &forum.topic;
        let limit = data::int(4..8);
        for offset in [0, limit] {
            let called = format!("users_writing_about(&pool, {topic:?}, {limit}, {offset})");
            let (page, sent) = db.wire().during(users_writing_about(db.app_pool(), topic, limit, offset)).await;
            let page = ok(&called, page);
            for got in &page.users {
                let want = forum.posts_on_topic(got.user.id);
                let got_ids: Vec<i64> = got.posts.iter().map(|p| p.id).collect();
                let want_ids: Vec<i64> = want.iter().map(|p| p.id).collect();
                if got_ids == want_ids && got.posts == want {
                    continue;
                }
                let other = got.posts.iter().find(|p| p.topic != *topic);
                let hint = match other {
                    Some(p) => format!(
                        "Post {} is on {:?}: load only the posts on the topic (the condition belongs in the posts \
                         query, or in the join's ON).",
                        p.id, p.topic
                    ),
                    None if got_ids.len() < want_ids.len() => "Some of their posts are missing: a LIMIT on the rows \
                        of a join cuts the last user's posts off. Page the users first, then load all of their \
                        posts on the topic."
                        .to_owned(),
                    None => "Each user's posts on the topic, all of them, in id order (ORDER BY id).".to_owned(),
                };
                Failure::new(&called)
                    .expected(format!(
                        "{} (#{}) with their {} posts on {topic:?}: {}",
                        got.user.name,
                        got.user.id,
                        want.len(),
                        short_list(&want_ids)
                    ))
                    .got(format!("{} posts: {}", got_ids.len(), short_list(&got_ids)))
                    .hint(hint)
                    .sent(&sent)
                    .fail();
            }
            if page.users.is_empty() {
                Failure::new(&called)
                    .expected(format!("{} users with their posts", forum.page(limit, offset).len()))
                    .got("no users")
                    .sent(&sent)
                    .fail();
            }
        }
    });
}

#[test]
fn walking_every_page_lists_each_user_once_in_name_then_id_order() {
    check(async |db| {
        let forum = Forum::new_in(&db).await;
        let topic = &forum.topic;
        let limit = data::int(3..6);
        let want: Vec<&User> = forum.writers();
        let mut got: Vec<(i64, UserWithPosts)> = Vec::new();
        let mut offset = 0;
        // Enough pages for everyone, and two more to notice a walk that
        // never ends.
        for _ in 0..want.len() as i64 / limit + 3 {
            let called = format!("users_writing_about(&pool, {topic:?}, {limit}, {offset})");
            let page = ok(&called, users_writing_about(db.app_pool(), topic, limit, offset).await);
            let n = page.users.len() as i64;
            got.extend(page.users.into_iter().map(|u| (offset, u)));
            if n < limit {
                break;
            }
            offset += limit;
        }
        let got_ids: Vec<i64> = got.iter().map(|(_, u)| u.user.id).collect();
        let want_ids: Vec<i64> = want.iter().map(|u| u.id).collect();
        if got_ids == want_ids {
            return;
        }
        let called = format!("users_writing_about(&pool, {topic:?}, {limit}, offset) for offset = 0, {limit}, …");
        let mut seen = BTreeSet::new();
        let repeated: Vec<i64> = got_ids.iter().filter(|id| !seen.insert(**id)).copied().collect();
        let missing: Vec<i64> = want_ids.iter().filter(|id| !seen.contains(id)).copied().collect();
        let tied = |id: i64| want.iter().filter(|u| Some(&u.name) == forum.name_of(id)).count() > 1;
        let hint = if repeated.iter().chain(&missing).any(|id| tied(*id)) || (repeated.is_empty() && missing.is_empty())
        {
            "Several users share a name. ORDER BY name alone leaves their order to chance, and PostgreSQL may \
             choose differently for every LIMIT and OFFSET: one of them shows up twice, another never. Add the \
             primary key as the last sort key, ORDER BY name, id, so every user has exactly one place."
        } else {
            "Each page is the next `limit` users in ORDER BY name, id: OFFSET skips the ones before it."
        };
        Failure::new(called)
            .expected(format!("each of the {} users once, in name then id order: {}", want.len(), show_refs(&want)))
            .got(format!(
                "{} users{}{}: {}",
                got.len(),
                if repeated.is_empty() { String::new() } else { format!(", repeated: {}", short_list(&repeated)) },
                if missing.is_empty() { String::new() } else { format!(", missing: {}", short_list(&missing)) },
                show_users(&got.iter().map(|(_, u)| u.clone()).collect::<Vec<_>>())
            ))
            .hint(hint)
            .fail();
    });
}

#[test]
fn users_writing_about_sends_at_most_three_statements_and_no_rows_beyond_the_page() {
    check(async |db| {
        let forum = Forum::new_in(&db).await;
        let topic = &forum.topic;
        let limit = data::int(4..8);
        let called = format!("users_writing_about(&pool, {topic:?}, {limit}, {limit})");
        let (page, sent) = db.wire().during(users_writing_about(db.app_pool(), topic, limit, limit)).await;
        ok(&called, page);
        let page = forum.page(limit, limit);
        let posts: usize = page.iter().map(|u| u.posts.len()).sum();
        if sent.len() > 3 {
            Failure::new(&called)
                .expected("at most 3 statements: the count, the page of users, their posts")
                .got(format!("{} statements", sent.len()))
                .hint(
                    "One statement per user is the N+1 problem. Load the page's posts for all of its users at \
                     once: WHERE user_id = ANY($1).",
                )
                .sent(&sent)
                .fail();
        }
        // The count is one row; a page of users and their posts is at most
        // one row each (or one per post, joined).
        let most = 1 + page.len() + posts;
        if sent.rows_returned() as usize > most {
            Failure::new(&called)
                .expected(format!(
                    "at most {most} rows over the wire: 1 for the count, {} users and their {posts} posts",
                    page.len()
                ))
                .got(format!("{} rows", sent.rows_returned()))
                .hint(
                    "The database counts and pages; Rust only receives the page. Fetching every user (or every \
                     post) to count or slice them in Rust sends the whole table on every request.",
                )
                .sent(&sent)
                .fail();
        }
        if let Some(s) = sent.pasted(topic) {
            Failure::new(&called)
                .expected(format!("the topic {topic:?} sent as a bind parameter ($1)"))
                .got(format!("it is written into the SQL: {}", s.sql))
                .hint("Use .bind(topic) and $1 in the SQL: text pasted into SQL is an injection waiting to happen.")
                .sent(&sent)
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// The feed: keyset pages.
// ---------------------------------------------------------------------------

#[test]
fn walking_the_feed_returns_every_post_once_newest_first() {
    check(async |db| {
        let limit = data::int(4..8);
        // A whole number of pages: the last page is full, and nothing comes
        // after it.
        let posts = feed_posts((data::int(5..9) * limit) as usize, limit as usize);
        Forum::insert_posts(&db, &posts).await;
        let walk = walk_feed(&db, limit, posts.len(), async |_, _| {}).await;
        compare_walk(&walk, &posts, limit, false, "");
    });
}

#[test]
fn walking_the_feed_while_posts_come_and_go_returns_each_remaining_post_once() {
    check(async |db| {
        let limit = data::int(4..8);
        let posts = feed_posts((data::int(5..8) * limit + data::int(1..limit)) as usize, limit as usize);
        Forum::insert_posts(&db, &posts).await;
        let newest = posts[0].created_at;
        let mut next_id = posts.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        let mut deleted_unread: BTreeSet<i64> = BTreeSet::new();
        let mut written: Vec<i64> = Vec::new();
        let mut log = Vec::new();
        let walk = walk_feed(&db, limit, posts.len() * 2, async |read: &[Post], page: usize| {
            // Newer posts arrive at the top of the feed: 2 or 3, so the
            // rows before the cursor grow by at least one on balance.
            let fresh: Vec<Post> = (0..data::int(2..4))
                .map(|i| {
                    next_id += data::int(1..4);
                    Post {
                        id: next_id,
                        user_id: posts[0].user_id,
                        topic: "news".into(),
                        title: format!("written between pages ({})", data::word(5)),
                        created_at: newest + TimeDelta::seconds(page as i64 * 10 + i + 1),
                    }
                })
                .collect();
            Forum::insert_posts_only(&db, &fresh).await;
            written.extend(fresh.iter().map(|p| p.id));
            // The post the cursor points at is deleted: a cursor must hold
            // its position itself, not look the row up again.
            let mut gone: Vec<i64> = read.last().map(|p| p.id).into_iter().collect();
            // And on every other page, one the walk has not reached yet.
            if page % 2 == 1 {
                let seen: BTreeSet<i64> = read.iter().map(|p| p.id).collect();
                let ahead: Vec<&Post> =
                    posts.iter().filter(|p| !seen.contains(&p.id) && !deleted_unread.contains(&p.id)).collect();
                if ahead.len() > limit as usize {
                    let victim = ahead[data::int(1..ahead.len() as i64) as usize].id;
                    deleted_unread.insert(victim);
                    gone.push(victim);
                }
            }
            sqlx::query("DELETE FROM posts WHERE id = ANY($1)")
                .bind(&gone)
                .execute(db.pool())
                .await
                .unwrap_or_else(|e| query_failed("DELETE FROM posts WHERE id = ANY($1)", e));
            log.push(format!(
                "after page {page} the check wrote {} newer posts and deleted {}",
                fresh.len(),
                gone.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ")
            ));
        })
        .await;
        let remaining: Vec<Post> = posts.iter().filter(|p| !deleted_unread.contains(&p.id)).cloned().collect();
        let news: Vec<i64> = walk.posts().iter().map(|p| p.id).filter(|id| written.contains(id)).collect();
        if !news.is_empty() {
            Failure::new("walking the feed page by page while the check writes newer posts between pages")
                .expected("only the posts that were there when the walk began: newer ones belong to a new walk")
                .got(format!("posts written during the walk came back: {} ({})", short_list(&news), log.join("; ")))
                .hint(
                    "OFFSET counts rows from the top of the feed, so every post written at the top pushes the \
                     next page down and brings back posts already read. A keyset cursor says where the last page \
                     ended, (created_at, id), and the next page is WHERE (created_at, id) < ($1, $2).",
                )
                .fail();
        }
        compare_walk(&walk, &remaining, limit, true, &format!(" (between pages: {})", log.join("; ")));
    });
}

#[test]
fn the_feed_query_is_served_by_an_index_without_sorting() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        // Big enough that the planner prefers an index that fits the query
        // (measured: from about 100 rows on), small enough to load in a
        // blink. ANALYZE gives it the statistics a real table would have.
        let n = data::int(1000..1400);
        let start = random_time();
        let users =
            "INSERT INTO users (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'Ada Lovelace'), (2, 'Alan Turing')";
        sqlx::query(users).execute(db.pool()).await.unwrap_or_else(|e| query_failed(users, e));
        let posts = "INSERT INTO posts (user_id, topic, title, created_at)
                     SELECT 1 + g % 2, 'news', 'post ' || g,
                            $1::timestamptz - (g / 3) * interval '1 second' - (g % 5) * interval '7 microseconds'
                     FROM generate_series(1, $2::int) g";
        sqlx::query(posts)
            .bind(start)
            .bind(n as i32)
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| query_failed(posts, e));
        sqlx::query("ANALYZE posts").execute(db.pool()).await.unwrap_or_else(|e| query_failed("ANALYZE posts", e));

        let limit = data::int(5..15);
        let called = format!("feed(&pool, None, {limit})");
        let (first, sent_first) = db.wire().during(feed(db.app_pool(), None, limit)).await;
        let first = page_ok(&called, first);
        let Some(cursor) = first.next.clone() else {
            Failure::new(called).expected(format!("a next cursor: the feed has {n} posts")).got("next = None").fail()
        };
        let called_next = format!("feed(&pool, Some(next), {limit})");
        let (second, sent_next) = db.wire().during(feed(db.app_pool(), Some(&cursor), limit)).await;
        page_ok(&called_next, second);

        for (called, sent, cursor) in [(&called, &sent_first, false), (&called_next, &sent_next, true)] {
            let Some(statement) = page_query(sent) else {
                Failure::new(called).expected("a SELECT of posts").got("no query that returned rows").sent(sent).fail()
            };
            let plan = explain(&db, statement).await;
            let problem = plan_problem(&plan, cursor);
            if let Some(problem) = problem {
                Failure::new(format!("EXPLAIN of the query {called} sent, on a table of {n} posts after ANALYZE"))
                    .expected(if cursor {
                        "an Index Scan on posts whose Index Cond starts the page at the cursor, and no Sort"
                    } else {
                        "an Index Scan on posts in the feed's order, and no Sort"
                    })
                    .got(format!("{problem}:\n{}", indent(&plan)))
                    .hint(
                        "Create an index on posts (created_at, id) in migrations/0001_forum.up.sql: read backwards \
                         it is in exactly the feed's order, so PostgreSQL reads one page and stops. Write the cursor \
                         condition as one row comparison, (created_at, id) < ($1, $2), so the index can seek to it.",
                    )
                    .sent(sent)
                    .fail();
            }
        }
    });
}

#[test]
fn a_feed_page_is_one_statement_with_the_cursor_bound_not_pasted() {
    check(async |db| {
        let limit = data::int(4..8);
        let posts = feed_posts((data::int(4..7) * limit + 2) as usize, limit as usize);
        Forum::insert_posts(&db, &posts).await;
        let called = format!("feed(&pool, None, {limit})");
        let (first, sent) = db.wire().during(feed(db.app_pool(), None, limit)).await;
        let first = page_ok(&called, first);
        one_page_query(&called, &sent, limit);
        let Some(cursor) = first.next.clone() else {
            Failure::new(called)
                .expected(format!("a next cursor: the feed has {} posts", posts.len()))
                .got("next = None")
                .fail()
        };
        let Some(last) = first.posts.last() else {
            Failure::new(called).expected(format!("{limit} posts")).got("none").fail()
        };
        let called = format!("feed(&pool, Some({cursor:?}), {limit})");
        let (second, sent) = db.wire().during(feed(db.app_pool(), Some(&cursor), limit)).await;
        page_ok(&called, second);
        one_page_query(&called, &sent, limit);
        let bound_time = sent.queries().iter().any(|s| s.params.iter().any(|p| same_instant(p, last.created_at)));
        if !sent.bound(last.id) || !bound_time {
            Failure::new(&called)
                .expected(format!(
                    "the position of the last post of page 1 (created_at {}, id {}) sent as bind parameters",
                    last.created_at, last.id
                ))
                .got(match (sent.bound(last.id), bound_time) {
                    (false, false) => "neither was bound".to_owned(),
                    (true, false) => "its id was bound, its created_at (to the microsecond) was not".to_owned(),
                    _ => "its created_at was bound, its id was not".to_owned(),
                })
                .hint(
                    "The cursor is the sort key of the last post on the page, both parts of it: decode it into \
                     (created_at, id) and bind them, WHERE (created_at, id) < ($1, $2). A page number or an OFFSET \
                     in the cursor is not a position, only a count.",
                )
                .sent(&sent)
                .fail();
        }
        if let Some(s) = sent.pasted(&last.id.to_string()) {
            Failure::new(&called)
                .expected("the cursor's values as bind parameters")
                .got(format!("the id {} is written into the SQL: {}", last.id, s.sql))
                .hint(
                    "The cursor comes from the client: pasted into SQL, it is an injection. Bind its parts with \
                     .bind() and $1, $2.",
                )
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn bad_page_requests_are_refused_before_any_sql_is_sent() {
    check(async |db| {
        let limit = data::int(4..8);
        let posts = feed_posts((3 * limit) as usize, limit as usize);
        Forum::insert_posts(&db, &posts).await;
        let mut cursors = vec![
            String::new(),
            data::word(12),
            format!("{}'; DELETE FROM posts; --", data::int(1..1000)),
            format!("{}:{}:{}", data::int(1..1000), data::word(3), data::int(1..9)),
            format!("{} OR 1=1", data::int(1..99)),
        ];
        data_shuffle(&mut cursors);
        for cursor in &cursors {
            let called = format!("feed(&pool, Some({cursor:?}), {limit})");
            let (result, sent) = db.wire().during(feed(db.app_pool(), Some(cursor), limit)).await;
            match result {
                Err(PageError::InvalidCursor(_)) if sent.all().is_empty() => {}
                Err(PageError::InvalidCursor(_)) => Failure::new(called)
                    .expected("Err(PageError::InvalidCursor(..)) before any SQL is sent")
                    .got("InvalidCursor, after sending SQL")
                    .hint("Decode the cursor in Rust first: a string the client made up never reaches the database.")
                    .sent(&sent)
                    .fail(),
                other => Failure::new(called)
                    .expected("Err(PageError::InvalidCursor(..)): this is not a cursor feed() handed out")
                    .got(describe(&other))
                    .hint(
                        "Decode the cursor into its parts (a timestamp and an id) and return InvalidCursor when that \
                         fails, before any SQL is sent.",
                    )
                    .sent(&sent)
                    .fail(),
            }
        }
        for bad in [0, -data::int(1..50), MAX_LIMIT + data::int(1..1000)] {
            let called = format!("feed(&pool, None, {bad})");
            let (result, sent) = db.wire().during(feed(db.app_pool(), None, bad)).await;
            match result {
                Err(PageError::InvalidLimit(n)) if n == bad && sent.all().is_empty() => {}
                other => Failure::new(called)
                    .expected(format!("Err(PageError::InvalidLimit({bad})) before any SQL is sent"))
                    .got(format!("{}{}", describe(&other), if sent.all().is_empty() { "" } else { ", after SQL" }))
                    .hint(format!(
                        "A page holds 1 to MAX_LIMIT ({MAX_LIMIT}) posts: a client asking for a million rows must \
                         not get them."
                    ))
                    .sent(&sent)
                    .fail(),
            }
        }
        let called = format!("feed(&pool, None, {MAX_LIMIT}) (the largest page)");
        let page = page_ok(&called, feed(db.app_pool(), None, MAX_LIMIT).await);
        if page.posts.len() != posts.len() || page.next.is_some() {
            Failure::new(called)
                .expected(format!("all {} posts and next = None", posts.len()))
                .got(format!("{} posts, next = {:?}", page.posts.len(), page.next))
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// Walking the feed.
// ---------------------------------------------------------------------------

/// What a walk through the feed returned, page by page.
struct Walk {
    pages: Vec<FeedPage>,
    /// Set when the walk was stopped because it went on too long.
    runaway: bool,
}

impl Walk {
    fn posts(&self) -> Vec<&Post> {
        self.pages.iter().flat_map(|p| &p.posts).collect()
    }
}

/// Follows `next` from the first page until it is `None`, calling
/// `between(every post read so far, pages read)` before each request after
/// the first.
async fn walk_feed(db: &Db, limit: i64, most: usize, mut between: impl AsyncFnMut(&[Post], usize)) -> Walk {
    let mut pages: Vec<FeedPage> = Vec::new();
    let mut cursor: Option<String> = None;
    let max_pages = most / limit as usize + 3;
    loop {
        if !pages.is_empty() {
            let read: Vec<Post> = pages.iter().flat_map(|p| p.posts.iter().cloned()).collect();
            between(&read, pages.len()).await;
        }
        let called = match &cursor {
            None => format!("feed(&pool, None, {limit})"),
            Some(c) => format!("feed(&pool, Some({c:?}), {limit}) (page {})", pages.len() + 1),
        };
        let (page, sent) = db.wire().during(feed(db.app_pool(), cursor.as_deref(), limit)).await;
        let page = page_ok(&called, page);
        if page.posts.len() > limit as usize {
            Failure::new(called)
                .expected(format!("at most {limit} posts"))
                .got(format!("{} posts", page.posts.len()))
                .hint("A page holds at most `limit` posts: fetch one more to learn whether there is a next page, then drop it.")
                .sent(&sent)
                .fail();
        }
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            return Walk { pages, runaway: false };
        }
        if pages.len() >= max_pages {
            return Walk { pages, runaway: true };
        }
    }
}

/// Compares a walk with the posts it should have returned, in order.
/// `deletes` says whether the check deleted posts between pages.
fn compare_walk(walk: &Walk, want: &[Post], limit: i64, deletes: bool, context: &str) {
    let called =
        format!("walking the feed with feed(&pool, next, {limit}) from the first page to next = None{context}");
    let got: Vec<&Post> = walk.posts();
    let got_ids: Vec<i64> = got.iter().map(|p| p.id).collect();
    let want_ids: Vec<i64> = want.iter().map(|p| p.id).collect();
    let pages = show_pages(walk);
    if let Some(at) = walk.pages.windows(2).position(|w| w[0] == w[1]) {
        Failure::new(called)
            .expected("each page to start after the last post of the page before")
            .got(format!("page {} is page {} again: {pages}", at + 2, at + 1))
            .hint(
                "The cursor does not move the walk forward: the next page must start strictly after the last post \
                 of this one. Decode the cursor and compare the whole sort key, WHERE (created_at, id) < ($1, $2), \
                 never <= (which reads the last post again), and set next from the last post of each page.",
            )
            .fail();
    }
    let returned: BTreeSet<i64> = got_ids.iter().copied().collect();
    let nothing_missing = want_ids.iter().all(|id| returned.contains(id));
    if let Some(at) = walk.pages.iter().position(|p| p.posts.is_empty())
        && nothing_missing
    {
        Failure::new(called)
            .expected("no empty page: next = None on the page after which nothing comes")
            .got(format!(
                "page {} is empty, so page {} said there was a next page when there was none: {pages}",
                at + 1,
                at
            ))
            .hint(
                "Ask for one row more than the page (LIMIT limit + 1): if it comes back there is a next page; drop \
                 it from the page and set next from the page's last post.",
            )
            .fail();
    }
    if got_ids == want_ids {
        if got.iter().zip(want).all(|(g, w)| *g == w) {
            return;
        }
        let (g, w) = got.iter().zip(want).find(|(g, w)| *g != w).expect("a difference");
        Failure::new(called)
            .expected(format!("post {} as stored: {w:?}", w.id))
            .got(format!("{g:?}"))
            .hint("Select every column of Post from posts; created_at keeps its microseconds.")
            .fail();
    }
    let mut seen = BTreeSet::new();
    let repeated: Vec<i64> = got_ids.iter().filter(|id| !seen.insert(**id)).copied().collect();
    let missing: Vec<&Post> = want.iter().filter(|p| !seen.contains(&p.id)).collect();
    if walk.runaway && repeated.is_empty() {
        Failure::new(called)
            .expected(format!("about {} pages, then next = None", want.len().div_ceil(limit as usize)))
            .got(format!("still going after {} pages: {pages}", walk.pages.len()))
            .hint("Set next to None on the last page: when the extra row (LIMIT limit + 1) does not come back.")
            .fail();
    }
    let extra: Vec<i64> = got_ids.iter().filter(|id| !want_ids.contains(id)).copied().collect();
    let mut problems = Vec::new();
    if !missing.is_empty() && !walk.runaway {
        problems.push(format!("skipped {}", short_list(&missing.iter().map(|p| p.id).collect::<Vec<_>>())));
    }
    if !repeated.is_empty() {
        problems.push(format!("repeated {}", short_list(&repeated)));
    }
    if !extra.is_empty() {
        problems.push(format!("returned deleted or unknown posts {}", short_list(&extra)));
    }
    if problems.is_empty() {
        problems.push("the posts out of order".to_owned());
    }
    // Was a skipped post tied with the post a page ended on?
    let page_ends: Vec<&Post> = walk.pages.iter().filter_map(|p| p.posts.last()).collect();
    let tie_skipped = missing.iter().any(|m| page_ends.iter().any(|e| e.created_at == m.created_at));
    let tie_repeated = repeated
        .iter()
        .any(|r| page_ends.iter().any(|e| got.iter().any(|g| g.id == *r && g.created_at == e.created_at)));
    let ended_early = walk.pages.last().is_some_and(|p| p.posts.is_empty());
    let hint = if ended_early && deletes {
        "The walk ended on an empty page while posts were left: the post the cursor came from had been deleted \
         between pages. A cursor must carry the position itself, the last post's (created_at, id), and compare \
         with it: (created_at, id) < ($1, $2) needs no row to look up."
    } else if deletes && !repeated.is_empty() {
        "Posts came back twice while the check wrote newer posts between pages: an OFFSET counts rows from the \
         top of the feed, so every post written there pushes the next page down over posts already read. Page by \
         position instead: the cursor is the last post's (created_at, id), and the next page is WHERE (created_at, \
         id) < ($1, $2). (A keyset condition with <= repeats ties in the same way.)"
    } else if tie_repeated {
        "The repeated posts share created_at with the end of the page before: `created_at <= $1` reads the tie \
         again. Compare the whole sort key, (created_at, id) < ($1, $2)."
    } else if tie_skipped && !walk.runaway {
        "The skipped posts have the same created_at as the last post of the page before: `created_at < $1` steps \
         over every post tied with it (and a cursor that loses the microseconds does the same). Compare the whole \
         sort key, (created_at, id) < ($1, $2), with the exact timestamp."
    } else if !missing.is_empty() && !repeated.is_empty() {
        "Posts were both skipped and repeated: an OFFSET moves whenever rows are written or deleted above it. Page \
         by position instead: WHERE (created_at, id) < (the last post's created_at, id)."
    } else {
        "The feed is every post, ORDER BY created_at DESC, id DESC; each page starts right after the last post of \
         the page before: WHERE (created_at, id) < ($1, $2). The cursor must hold that position itself: the post \
         it came from may be deleted before the next page is asked for."
    };
    Failure::new(called)
        .expected(format!("each of the {} posts exactly once, newest first: {}", want.len(), short_list(&want_ids)))
        .got(format!(
            "{} posts{}: {}; pages: {pages}",
            got.len(),
            if walk.runaway { format!(" (stopped after {} pages)", walk.pages.len()) } else { String::new() },
            problems.join(", ")
        ))
        .hint(hint)
        .fail();
}

/// Whether a bind parameter is the timestamp `at`, sent as a timestamp or
/// as text PostgreSQL would read back to the same microsecond.
fn same_instant(p: &Value, at: DateTime<Utc>) -> bool {
    match p {
        Value::Timestamp(t) => *t == at,
        Value::Text(s) => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z"))
            .is_ok_and(|t| t == at),
        _ => false,
    }
}

fn show_pages(walk: &Walk) -> String {
    walk.pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ids: Vec<i64> = p.posts.iter().map(|p| p.id).collect();
            format!("{}. {}", i + 1, short_list(&ids))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A page of the feed must come in one statement that sends back no more
/// than one row beyond the page.
fn one_page_query(called: &str, sent: &Traffic, limit: i64) {
    if sent.len() != 1 {
        Failure::new(called)
            .expected("one statement: the page itself")
            .got(format!("{} statements", sent.len()))
            .hint(
                "Keyset paging needs no count and no lookup: decode the cursor in Rust, then one SELECT with \
                 WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT limit + 1.",
            )
            .sent(sent)
            .fail();
    }
    if sent.rows_returned() > limit as u64 + 1 {
        Failure::new(called)
            .expected(format!(
                "at most {} rows over the wire: the page, and one more to tell whether a next page exists",
                limit + 1
            ))
            .got(format!("{} rows", sent.rows_returned()))
            .hint("Let the database cut the page with LIMIT: rows fetched and dropped in Rust still cross the network.")
            .sent(sent)
            .fail();
    }
}

/// The statement of a page that fetched the posts.
fn page_query(sent: &Traffic) -> Option<&Statement> {
    sent.queries().into_iter().filter(|s| s.error.is_none()).max_by_key(|s| s.rows_returned)
}

/// `EXPLAIN` of `statement`, with the values it was sent with bound again.
async fn explain(db: &Db, statement: &Statement) -> String {
    let sql = format!("EXPLAIN {}", statement.sql);
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone()));
    for p in &statement.params {
        q = match p {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(*b),
            Value::Int(n) => q.bind(*n),
            Value::Float(f) => q.bind(*f),
            Value::Timestamp(t) => q.bind(*t),
            Value::Date(d) => q.bind(*d),
            Value::Bytes(b) => q.bind(b.clone()),
            Value::Array(items) if items.iter().all(|v| matches!(v, Value::Int(_))) => q.bind(
                items.iter().filter_map(|v| if let Value::Int(n) = v { Some(*n) } else { None }).collect::<Vec<_>>(),
            ),
            other => q.bind(other.as_text().unwrap_or_else(|| other.to_string())),
        };
    }
    match q.fetch_all(db.pool()).await {
        Ok(lines) => lines.join("\n"),
        Err(e) => Failure::new(format!("EXPLAIN of the feed's query: {}", statement.sql))
            .expected("a plan")
            .got(e.to_string())
            .hint("The feed's page must be one plain SELECT, sent with its values as bind parameters.")
            .fail(),
    }
}

/// What is wrong with the plan of a feed page, if anything.
fn plan_problem(plan: &str, after_cursor: bool) -> Option<String> {
    // Plan nodes carry their cost; the lines between them are the details
    // of the node above (Index Cond, Filter, Sort Key).
    let lines: Vec<&str> = plan.lines().map(|l| l.trim_start().trim_start_matches("->").trim_start()).collect();
    let is_node = |l: &str| l.contains("(cost=");
    let nodes: Vec<(usize, &str)> = lines.iter().copied().enumerate().filter(|(_, l)| is_node(l)).collect();
    if nodes.iter().any(|(_, n)| n.starts_with("Seq Scan on posts")) {
        return Some("PostgreSQL reads the whole posts table (Seq Scan) and sorts it, for every page".to_owned());
    }
    if let Some((_, sort)) = nodes.iter().find(|(_, n)| n.starts_with("Sort") || n.starts_with("Incremental Sort")) {
        return Some(format!(
            "PostgreSQL sorts the rows ({}): no index is in the feed's order, created_at then id",
            sort.split("  (").next().unwrap_or(sort)
        ));
    }
    let scan = nodes
        .iter()
        .find(|(_, n)| (n.starts_with("Index Scan") || n.starts_with("Index Only Scan")) && n.contains(" on posts"));
    let Some(&(at, _)) = scan else {
        return Some("no Index Scan on posts in the plan".to_owned());
    };
    if after_cursor {
        let seeks = lines[at + 1..].iter().take_while(|l| !is_node(l)).any(|l| l.starts_with("Index Cond:"));
        if !seeks {
            return Some(
                "the index is read from the newest post and every row is tested with a Filter, so a page deep in \
                 the feed reads every post before it: the cursor condition gives the index nothing to seek to"
                    .to_owned(),
            );
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The forum each check builds.
// ---------------------------------------------------------------------------

struct Forum {
    topic: String,
    users: Vec<User>,
    posts: Vec<Post>,
}

impl Forum {
    /// Generates a forum, applies the migrations and inserts it.
    async fn new_in(db: &Db) -> Forum {
        let forum = Forum::generate();
        db.migrate(workbook::exercise::path("migrations")).await;
        forum.insert(db).await;
        forum
    }

    /// 36 to 50 users: about a fifth write many posts on the topic, two
    /// fifths a few, a fifth only on other topics, the rest nothing. Names
    /// come from a short list, so several users share each, and one name is
    /// shared by four or more writers. The first writer in name order
    /// always has five or more posts on the topic.
    fn generate() -> Forum {
        let topic = data::word(7);
        let others = [data::word(6), data::word(8)];
        let mut names = BTreeSet::new();
        while names.len() < 7 {
            names.insert(data::name());
        }
        let names: Vec<String> = names.into_iter().collect();
        let n = data::int(36..51) as usize;
        let mut ids = Ids::new(1);
        let users: Vec<User> = (0..n)
            .map(|i| {
                // The first five share a name; the rest draw from the list.
                let name =
                    if i < 5 { names[0].clone() } else { names[data::int(0..names.len() as i64) as usize].clone() };
                User { id: ids.next(), name }
            })
            .collect();
        let mut kinds: Vec<usize> = (0..n).collect();
        data_shuffle(&mut kinds[5..]);
        let mut post_ids = Ids::new(1);
        let mut posts = Vec::new();
        let start = random_time();
        let mut post = |user_id: i64, topic: &str, posts: &mut Vec<Post>| {
            posts.push(Post {
                id: post_ids.next(),
                user_id,
                topic: topic.to_owned(),
                title: format!("On {} and {}", data::word(6), data::word(5)),
                created_at: start - TimeDelta::microseconds(data::int(0..30_000_000_000)),
            });
        };
        for (rank, &u) in kinds.iter().enumerate() {
            let user = &users[u];
            // The five who share a name all write on the topic.
            let share = if rank < 5 { 1 + rank % 2 } else { rank * 5 / n };
            let (on_topic, off_topic) = match share {
                0 => (data::int(4..9), data::int(0..3)),
                1 | 2 => (data::int(1..3), data::int(0..3)),
                3 => (0, data::int(1..4)),
                _ => (0, 0),
            };
            for _ in 0..on_topic {
                post(user.id, &topic, &mut posts);
            }
            for _ in 0..off_topic {
                post(user.id, &others[data::int(0..2) as usize], &mut posts);
            }
        }
        let mut forum = Forum { topic, users, posts };
        // The first writer on page 1 writes a lot: a LIMIT on joined rows
        // then runs out of rows before it runs out of users.
        let first = forum.writers()[0].id;
        let have = forum.posts_on_topic(first).len();
        for _ in have..6 {
            let topic = forum.topic.clone();
            post(first, &topic, &mut forum.posts);
        }
        forum
    }

    async fn insert(&self, db: &Db) {
        let sql = "WITH u AS (
                       INSERT INTO users (id, name) OVERRIDING SYSTEM VALUE
                       SELECT * FROM UNNEST($1::bigint[], $2::text[])
                   )
                   INSERT INTO posts (id, user_id, topic, title, created_at) OVERRIDING SYSTEM VALUE
                   SELECT * FROM UNNEST($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[])";
        let posts = &self.posts;
        sqlx::query(sql)
            .bind(self.users.iter().map(|u| u.id).collect::<Vec<_>>())
            .bind(self.users.iter().map(|u| u.name.clone()).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.user_id).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.topic.clone()).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.created_at).collect::<Vec<_>>())
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| insert_failed(e));
    }

    /// Migrates, then inserts `posts` and two authors for them.
    async fn insert_posts(db: &Db, posts: &[Post]) {
        db.migrate(workbook::exercise::path("migrations")).await;
        let users: BTreeSet<i64> = posts.iter().map(|p| p.user_id).collect();
        let forum = Forum {
            topic: String::new(),
            users: users.into_iter().map(|id| User { id, name: data::name() }).collect(),
            posts: posts.to_vec(),
        };
        forum.insert(db).await;
    }

    async fn insert_posts_only(db: &Db, posts: &[Post]) {
        let sql = "INSERT INTO posts (id, user_id, topic, title, created_at) OVERRIDING SYSTEM VALUE
                   SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[])";
        sqlx::query(sql)
            .bind(posts.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.user_id).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.topic.clone()).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>())
            .bind(posts.iter().map(|p| p.created_at).collect::<Vec<_>>())
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| insert_failed(e));
    }

    /// The users with a post on the topic, by name then id.
    fn writers(&self) -> Vec<&User> {
        let ids: BTreeSet<i64> = self.posts.iter().filter(|p| p.topic == self.topic).map(|p| p.user_id).collect();
        let mut users: Vec<&User> = self.users.iter().filter(|u| ids.contains(&u.id)).collect();
        users.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        users
    }

    fn name_of(&self, id: i64) -> Option<&String> {
        self.users.iter().find(|u| u.id == id).map(|u| &u.name)
    }

    fn posts_on_topic(&self, user_id: i64) -> Vec<Post> {
        let mut posts: Vec<Post> =
            self.posts.iter().filter(|p| p.user_id == user_id && p.topic == self.topic).cloned().collect();
        posts.sort_by_key(|p| p.id);
        posts
    }

    /// The page `users_writing_about(topic, limit, offset)` must return.
    fn page(&self, limit: i64, offset: i64) -> Vec<UserWithPosts> {
        self.writers()
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|u| UserWithPosts { user: u.clone(), posts: self.posts_on_topic(u.id) })
            .collect()
    }

    /// What a wrong total probably counted.
    fn diagnose_total(&self, total: i64, limit: i64, offset: i64) -> String {
        let writers = self.writers();
        let on_topic = self.posts.iter().filter(|p| p.topic == self.topic).count() as i64;
        let with_any: BTreeSet<i64> = self.posts.iter().map(|p| p.user_id).collect();
        let page = self.page(limit, offset);
        let page_rows: i64 = page.iter().map(|u| u.posts.len() as i64).sum();
        if total == on_topic {
            format!(
                ": the number of posts on the topic, one per row of users JOIN posts ({} writers wrote them)",
                writers.len()
            )
        } else if total == with_any.len() as i64 {
            ": the number of users with any post at all: the count ignores the topic".to_owned()
        } else if total == self.users.len() as i64 {
            ": every user: the count ignores the topic".to_owned()
        } else if total == page.len() as i64 || total == page_rows {
            ": the size of the page, not of the listing".to_owned()
        } else {
            String::new()
        }
    }
}

/// Posts for the feed, newest first in the feed's order, with ties: groups
/// of one to four posts share a timestamp, and a group straddles every page
/// boundary (`per_page` apart). Timestamps carry microseconds, and ids are
/// unrelated to time.
fn feed_posts(n: usize, per_page: usize) -> Vec<Post> {
    let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    let mut at = random_time();
    while times.len() < n {
        for _ in 0..data::int(1..5) {
            times.push(at);
        }
        // A few seconds earlier, never on a whole millisecond.
        at -= TimeDelta::microseconds(data::int(1..5000) * 1000 + data::int(1..1000));
    }
    times.truncate(n);
    for b in (per_page..n).step_by(per_page) {
        times[b] = times[b - 1];
    }
    let mut ids: Vec<i64> = (0..n as i64).map(|i| 1000 + i * 3 + data::int(0..3)).collect();
    data_shuffle(&mut ids);
    // Within a tie the feed orders by id, newest (largest) first.
    let mut i = 0;
    while i < n {
        let j = (i..n).find(|&j| times[j] != times[i]).unwrap_or(n);
        ids[i..j].sort_unstable_by(|a, b| b.cmp(a));
        i = j;
    }
    let authors = [data::int(1..50), data::int(50..100)];
    (0..n)
        .map(|i| Post {
            id: ids[i],
            user_id: authors[i % 2],
            topic: ["news", "rust", "sql"][data::int(0..3) as usize].to_owned(),
            title: format!("{} {}", data::word(5), data::word(7)),
            created_at: times[i],
        })
        .collect()
}

/// Some moment in 2024, to the microsecond.
fn random_time() -> DateTime<Utc> {
    let base = DateTime::from_timestamp(1_704_067_200, 0).expect("2024-01-01");
    base + TimeDelta::seconds(data::int(0..300 * 86_400)) + TimeDelta::microseconds(data::int(1..1_000_000))
}

/// Increasing ids with gaps, starting somewhere different every run.
struct Ids(i64);

impl Ids {
    fn new(from: i64) -> Ids {
        Ids(from + data::int(0..400))
    }

    fn next(&mut self) -> i64 {
        self.0 += data::int(1..5);
        self.0
    }
}

fn data_shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, data::int(0..i as i64 + 1) as usize);
    }
}

// ---------------------------------------------------------------------------
// Helpers for messages.
// ---------------------------------------------------------------------------

fn ok(called: &str, result: Result<UsersPage, sqlx::Error>) -> UsersPage {
    result.unwrap_or_else(|e| {
        Failure::new(called)
            .expected("Ok(UsersPage { .. })")
            .got(format!("Err({e})"))
            .hint("The tables and columns are in migrations/0001_forum.up.sql.")
            .fail()
    })
}

fn page_ok(called: &str, result: Result<FeedPage, PageError>) -> FeedPage {
    result.unwrap_or_else(|e| {
        Failure::new(called)
            .expected("Ok(FeedPage { .. })")
            .got(format!("Err({e:?})"))
            .hint("A cursor feed() handed out in `next` must be accepted back, exactly as it was.")
            .fail()
    })
}

fn describe(result: &Result<FeedPage, PageError>) -> String {
    match result {
        Ok(page) => format!("Ok(a page of {} posts)", page.posts.len()),
        Err(e) => format!("Err({e:?})"),
    }
}

fn show_users(users: &[UserWithPosts]) -> String {
    let shown: Vec<String> =
        users.iter().take(10).map(|u| format!("{} #{} ({} posts)", u.user.name, u.user.id, u.posts.len())).collect();
    let more = if users.len() > 10 { format!(", … {} more", users.len() - 10) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

fn show_refs(users: &[&User]) -> String {
    let shown: Vec<String> = users.iter().take(10).map(|u| format!("{} #{}", u.name, u.id)).collect();
    let more = if users.len() > 10 { format!(", … {} more", users.len() - 10) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

/// `[1, 2, 3]`, cut short after sixteen.
fn short_list(ids: &[i64]) -> String {
    if ids.len() <= 16 {
        return format!("{ids:?}");
    }
    let head: Vec<String> = ids[..16].iter().map(i64::to_string).collect();
    format!("[{}, … {} more]", head.join(", "), ids.len() - 16)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn insert_failed(e: sqlx::Error) -> ! {
    Failure::new("inserting the check's sample users and posts")
        .expected("the insert to succeed on the schema in migrations/0001_forum.up.sql")
        .got(e.to_string())
        .hint("Keep the tables and columns as the starter gives them; add the index the feed needs.")
        .fail()
}

fn query_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what.split_whitespace().collect::<Vec<_>>().join(" "))
        .expected("the check's own query to run")
        .got(e.to_string())
        .hint("The tables and columns come from migrations/0001_forum.up.sql: keep the names the starter gives.")
        .fail()
}
