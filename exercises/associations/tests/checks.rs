//! The checks for `associations`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run associations`.
//!
//! Every check builds a blog of its own from data generated for this run
//! (sizes vary, and some users have no posts at all), calls your code, and
//! compares with what that data says. The loaders are measured too: how
//! many statements they send, and how many rows come back over the wire.

use std::collections::{BTreeMap, BTreeSet};

use associations::{
    Comment, Post, PostWithTags, Tag, User, UserWithPosts, UserWithPostsAndComments, posts_with_tags,
    users_with_a_post_tagged, users_with_posts_and_comments, users_with_posts_batched, users_with_posts_joined,
};
use workbook::wire::Traffic;
use workbook::{Db, Failure, check, data};

// ---------------------------------------------------------------------------
// The schema: foreign keys, their ON DELETE rules, their indexes.
// ---------------------------------------------------------------------------

/// One association the schema must declare, and why its rule is the right
/// one.
struct Association {
    table: &'static str,
    column: &'static str,
    parent: &'static str,
    /// Accepted `pg_constraint.confdeltype` codes.
    rules: &'static [&'static str],
    rule: &'static str,
    why: &'static str,
}

const ASSOCIATIONS: [Association; 5] = [
    Association {
        table: "posts",
        column: "user_id",
        parent: "users",
        rules: &["c"],
        rule: "CASCADE",
        why: "a post cannot exist without its author",
    },
    Association {
        table: "comments",
        column: "post_id",
        parent: "posts",
        rules: &["c"],
        rule: "CASCADE",
        why: "a comment on a deleted post has nothing to hang on",
    },
    Association {
        table: "comments",
        column: "user_id",
        parent: "users",
        rules: &["n"],
        rule: "SET NULL",
        why: "a comment outlives its author, who becomes unknown",
    },
    Association {
        table: "post_tags",
        column: "post_id",
        parent: "posts",
        rules: &["c"],
        rule: "CASCADE",
        why: "a link to a deleted post means nothing",
    },
    Association {
        table: "post_tags",
        column: "tag_id",
        parent: "tags",
        // NO ACTION refuses the delete too; it only checks later, at the
        // end of the statement.
        rules: &["r", "a"],
        rule: "RESTRICT",
        why: "a tag still on some post must not be deleted",
    },
];

#[test]
fn every_association_is_a_foreign_key_with_its_on_delete_rule() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let found = foreign_keys(&db).await;
        let mut problems = Vec::new();
        for a in &ASSOCIATIONS {
            let name = format!("{}.{}", a.table, a.column);
            match found.iter().find(|fk| fk.table_name == a.table && fk.column_name == a.column) {
                None => problems.push(format!("{name}: no foreign key ({} wanted: {})", a.parent, a.why)),
                Some(fk) if fk.referenced != a.parent => {
                    problems.push(format!("{name}: references {}, not {}", fk.referenced, a.parent))
                }
                Some(fk) if !a.rules.contains(&fk.on_delete.as_str()) => problems.push(format!(
                    "{name}: ON DELETE {}, where {} is wanted ({})",
                    rule_name(&fk.on_delete),
                    a.rule,
                    a.why
                )),
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            let wanted: Vec<String> = ASSOCIATIONS
                .iter()
                .map(|a| format!("{}.{} → {} ON DELETE {}", a.table, a.column, a.parent, a.rule))
                .collect();
            Failure::new("reading the foreign keys from pg_constraint after applying migrations/")
                .expected(format!("{} foreign keys:{}", wanted.len(), indent(&wanted)))
                .got(format!("{} problem(s):{}", problems.len(), indent(&problems)))
                .hint(
                    "An association is a foreign key: write `REFERENCES parent (id) ON DELETE <rule>` after the \
                     column's type in migrations/0001_blog.up.sql. Without it PostgreSQL accepts a post whose \
                     user does not exist, and deleting a user leaves orphans behind.",
                )
                .fail();
        }
    });
}

#[test]
fn every_foreign_key_column_has_an_index() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut missing = Vec::new();
        for a in &ASSOCIATIONS {
            if !has_leading_index(&db, a.table, a.column).await {
                missing.push(format!("{}.{}", a.table, a.column));
            }
        }
        if let Some(first) = missing.first() {
            let (table, column) = first.split_once('.').expect("table.column");
            Failure::new("reading the indexes from pg_index after applying migrations/")
                .expected(
                    "an index starting with each foreign key column (the primary key counts for post_tags.post_id)",
                )
                .got(format!("no index starts with {}", missing.join(", ")))
                .hint(format!(
                    "PostgreSQL indexes the referenced primary key, never the referencing column. Without an index \
                     on {first}, loading a parent's {table} and every DELETE of a parent scan the whole table. Add \
                     `CREATE INDEX {table}_{column}_idx ON {table} ({column});`"
                ))
                .fail();
        }
    });
}

#[test]
fn deleting_a_user_deletes_their_posts_and_the_comments_on_them() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut blog = Blog::generate(data::int(8..15) as usize, 2);
        let victim = blog.heavy_user();
        let other = blog.someone_else(victim.id);
        // Someone else's comment on the victim's post goes with the post.
        let victims_post = blog.posts_of(victim.id)[0].id;
        blog.add_comment(victims_post, Some(other.id));
        blog.insert(&db).await;

        let posts = blog.posts_of(victim.id).iter().map(|p| p.id).collect::<Vec<_>>();
        delete(&db, "DELETE FROM users WHERE id = $1", victim.id, &format!("user {}", victim.id)).await;

        let pool = db.pool();
        let left: i64 = scalar(pool, "SELECT count(*) FROM posts WHERE user_id = $1", victim.id).await;
        if left > 0 {
            Failure::new(format!("DELETE FROM users WHERE id = {} (a user with {} posts)", victim.id, posts.len()))
                .expected("their posts deleted with them")
                .got(format!("{left} posts still point at user {}, who no longer exists", victim.id))
                .hint("posts.user_id needs REFERENCES users (id) ON DELETE CASCADE: a post cannot exist without its author.")
                .fail();
        }
        let comments: i64 = scalar_ids(pool, "SELECT count(*) FROM comments WHERE post_id = ANY($1)", &posts).await;
        if comments > 0 {
            Failure::new(format!("DELETE FROM users WHERE id = {} (its posts cascade away)", victim.id))
                .expected("the comments on those posts deleted too")
                .got(format!("{comments} comments still point at posts that no longer exist"))
                .hint("comments.post_id needs REFERENCES posts (id) ON DELETE CASCADE: cascades chain, user → posts → comments.")
                .fail();
        }
        let links: i64 = scalar_ids(pool, "SELECT count(*) FROM post_tags WHERE post_id = ANY($1)", &posts).await;
        if links > 0 {
            Failure::new(format!("DELETE FROM users WHERE id = {} (its posts cascade away)", victim.id))
                .expected("the post_tags rows of those posts deleted too")
                .got(format!("{links} post_tags rows still point at posts that no longer exist"))
                .hint("post_tags.post_id needs REFERENCES posts (id) ON DELETE CASCADE.")
                .fail();
        }
        let others: i64 = scalar(pool, "SELECT count(*) FROM posts WHERE user_id <> $1", victim.id).await;
        let want = (blog.posts.len() - posts.len()) as i64;
        if others != want {
            Failure::new(format!("DELETE FROM users WHERE id = {}", victim.id))
                .expected(format!("the other users' {want} posts untouched"))
                .got(format!("{others} left"))
                .fail();
        }
    });
}

#[test]
fn deleting_a_user_keeps_their_comments_elsewhere_without_an_author() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut blog = Blog::generate(data::int(8..15) as usize, 2);
        let victim = blog.heavy_user();
        let other = blog.someone_else(victim.id);
        let elsewhere = blog.posts_of(other.id)[0].id;
        let comment = blog.add_comment(elsewhere, Some(victim.id));
        blog.insert(&db).await;

        delete(&db, "DELETE FROM users WHERE id = $1", victim.id, &format!("user {}", victim.id)).await;

        let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT user_id FROM comments WHERE id = $1")
            .bind(comment.id)
            .fetch_optional(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("SELECT user_id FROM comments WHERE id = $1", e));
        let called = format!(
            "DELETE FROM users WHERE id = {}, then reading their comment {} on user {}'s post",
            victim.id, comment.id, other.id
        );
        match row {
            Some((None,)) => {}
            None => Failure::new(called)
                .expected("the comment kept, with user_id NULL: it belongs to a post that still exists")
                .got("the comment was deleted with its author")
                .hint("comments.user_id should be ON DELETE SET NULL, not CASCADE: the comment can outlive its author.")
                .fail(),
            Some((Some(id),)) => Failure::new(called)
                .expected("the comment kept, with user_id NULL")
                .got(format!("user_id is still {id}, a user who no longer exists"))
                .hint("comments.user_id needs REFERENCES users (id) ON DELETE SET NULL (and must allow NULL).")
                .fail(),
        }
    });
}

#[test]
fn a_tag_still_on_a_post_cannot_be_deleted() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let blog = Blog::generate(data::int(8..15) as usize, 2);
        blog.insert(&db).await;
        let (tag, uses) = blog.most_used_tag();

        let deleted = sqlx::query("DELETE FROM tags WHERE id = $1").bind(tag.id).execute(db.pool()).await;
        let called = format!("DELETE FROM tags WHERE id = {} (the tag {:?}, on {uses} posts)", tag.id, tag.name);
        match deleted {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {}
            Err(e) => query_failed(&called, e),
            Ok(_) => {
                let links: i64 = scalar(db.pool(), "SELECT count(*) FROM post_tags WHERE tag_id = $1", tag.id).await;
                let what = if links > 0 {
                    format!("deleted, and {links} post_tags rows now point at a tag that does not exist")
                } else {
                    format!("deleted, and silently taken off {uses} posts")
                };
                Failure::new(called)
                    .expected("an error (foreign key violation, SQLSTATE 23503): the tag is still in use")
                    .got(what)
                    .hint("post_tags.tag_id needs REFERENCES tags (id) ON DELETE RESTRICT: untag the posts first, then delete the tag.")
                    .fail();
            }
        }

        // RESTRICT refuses only while the tag is in use.
        let unused: i64 = scalar(db.pool(), "INSERT INTO tags (name) VALUES ($1) RETURNING id", data::word(12)).await;
        if let Err(e) = sqlx::query("DELETE FROM tags WHERE id = $1").bind(unused).execute(db.pool()).await {
            Failure::new(format!("DELETE FROM tags WHERE id = {unused} (a tag on no post)"))
                .expected("the tag deleted")
                .got(e.to_string())
                .fail();
        }
    });
}

#[test]
fn deleting_a_post_removes_its_tag_links_and_keeps_the_tags() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let blog = Blog::generate(data::int(8..15) as usize, 2);
        blog.insert(&db).await;
        let (post, tags) = blog.most_tagged_post();

        delete(&db, "DELETE FROM posts WHERE id = $1", post.id, &format!("post {}", post.id)).await;
        let called = format!("DELETE FROM posts WHERE id = {} (a post with {} tags)", post.id, tags.len());
        let links: i64 = scalar(db.pool(), "SELECT count(*) FROM post_tags WHERE post_id = $1", post.id).await;
        if links > 0 {
            Failure::new(&called)
                .expected("its post_tags rows deleted with it")
                .got(format!("{links} post_tags rows still point at the deleted post"))
                .hint("post_tags.post_id needs REFERENCES posts (id) ON DELETE CASCADE.")
                .fail();
        }
        let ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
        let kept: i64 = scalar_ids(db.pool(), "SELECT count(*) FROM tags WHERE id = ANY($1)", &ids).await;
        if kept != ids.len() as i64 {
            Failure::new(&called)
                .expected(format!("its {} tags kept: other posts may use them", ids.len()))
                .got(format!("{kept} left"))
                .hint("Deleting a child never deletes its parent: only post_tags rows should go.")
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// Loading users with their posts: the join.
// ---------------------------------------------------------------------------

#[test]
fn users_with_posts_joined_gives_each_user_exactly_their_posts() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(20..40) as usize, 3).await;
        let got = ok("users_with_posts_joined(&pool)", users_with_posts_joined(db.app_pool()).await);
        // Users without posts are the next check's business.
        let with_posts =
            |list: Vec<UserWithPosts>| list.into_iter().filter(|u| !u.posts.is_empty()).collect::<Vec<_>>();
        compare_users_with_posts(
            "users_with_posts_joined(&pool)",
            &with_posts(got),
            &with_posts(blog.users_with_posts()),
        );
    });
}

#[test]
fn users_with_posts_joined_keeps_users_who_have_no_posts() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(20..40) as usize, 3).await;
        let got = ok("users_with_posts_joined(&pool)", users_with_posts_joined(db.app_pool()).await);
        expect_childless_kept("users_with_posts_joined(&pool)", &got, &blog.users_with_posts());
    });
}

#[test]
fn users_with_posts_joined_takes_one_statement() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(40..61) as usize, 3).await;
        let (got, stmts) = db.wire().during(users_with_posts_joined(db.app_pool())).await;
        let called = format!("users_with_posts_joined(&pool) with {} users", blog.users.len());
        ok(&called, got);
        expect_statements(&called, &stmts, 1..=1, "1 statement: users LEFT JOIN posts", blog.users.len());
    });
}

// ---------------------------------------------------------------------------
// Loading users with their posts: one statement per collection.
// ---------------------------------------------------------------------------

#[test]
fn users_with_posts_batched_loads_the_requested_users_with_their_posts() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(20..40) as usize, 3).await;
        let ids = blog.some_user_ids();
        let called = format!("users_with_posts_batched(&pool, &{})", short_list(&ids));
        let (got, stmts) = db.wire().during(users_with_posts_batched(db.app_pool(), &ids)).await;
        let got = ok(&called, got);
        let want: Vec<UserWithPosts> =
            blog.users_with_posts().into_iter().filter(|u| ids.contains(&u.user.id)).collect();
        compare_users_with_posts(&called, &got, &want);
        // The starter's loop already gets this answer; the lesson is to get
        // it in two statements, so only that earns the point.
        expect_statements(
            &called,
            &stmts,
            2..=2,
            "the same answer in 2 statements: the users, then their posts",
            ids.len(),
        );
    });
}

#[test]
fn users_with_posts_batched_takes_one_statement_per_collection_not_per_user() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(40..61) as usize, 3).await;
        let mut ids: Vec<i64> = blog.users.iter().map(|u| u.id).collect();
        data_shuffle(&mut ids);
        let (got, stmts) = db.wire().during(users_with_posts_batched(db.app_pool(), &ids)).await;
        let called = format!("users_with_posts_batched(&pool, &ids) with {} users", ids.len());
        ok(&called, got);
        if stmts.len() == 1 {
            Failure::new(&called)
                .expected("2 statements: one for the users, one for all of their posts")
                .got("1 statement: the one listed under \"your code sent\"")
                .sent(&stmts)
                .hint(
                    "This function practises the other strategy (Sequelize's `separate: true`): a second query \
                     for the posts, WHERE user_id = ANY($1). The join belongs in users_with_posts_joined.",
                )
                .fail();
        }
        expect_statements(
            &called,
            &stmts,
            2..=2,
            "2 statements: one for the users, one for all of their posts",
            ids.len(),
        );
    });
}

#[test]
fn users_with_posts_batched_fetches_only_the_posts_of_those_users() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(20..40) as usize, 3).await;
        let ids = blog.some_user_ids();
        let posts: usize = ids.iter().map(|id| blog.posts_of(*id).len()).sum();
        let (got, stmts) = db.wire().during(users_with_posts_batched(db.app_pool(), &ids)).await;
        let called =
            format!("users_with_posts_batched(&pool, &ids) with {} of the {} users", ids.len(), blog.users.len());
        ok(&called, got);
        expect_some_statements(&called, &stmts);
        let bound = (ids.len() + posts) as u64;
        if stmts.rows_returned() > bound {
            Failure::new(&called)
                .expected(format!("at most {bound} rows over the wire: {} users and their {posts} posts", ids.len()))
                .got(format!("{} rows, from the statements listed under \"your code sent\"", stmts.rows_returned()))
                .sent(&stmts)
                .hint(
                    "The database filters far better than Rust does: ask only for the posts of the users you \
                     loaded, WHERE user_id = ANY($1) with their ids bound as a slice.",
                )
                .fail();
        }
        expect_statements(&called, &stmts, 2..=2, "2 statements: the users, then their posts", ids.len());
    });
}

// ---------------------------------------------------------------------------
// Two collections at once: the Cartesian trap.
// ---------------------------------------------------------------------------

#[test]
fn users_with_posts_and_comments_loads_both_collections() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 4).await;
        let got = ok("users_with_posts_and_comments(&pool)", users_with_posts_and_comments(db.app_pool()).await);
        compare_users_with_posts_and_comments(
            "users_with_posts_and_comments(&pool)",
            &got,
            &blog.users_with_posts_and_comments(),
        );
    });
}

#[test]
fn users_with_posts_and_comments_sends_no_more_rows_than_it_loads() {
    check(async |db| {
        // Few users, several of them prolific: where a join multiplies.
        let blog = Blog::new_in(&db, data::int(6..10) as usize, 4).await;
        let (got, stmts) = db.wire().during(users_with_posts_and_comments(db.app_pool())).await;
        let called = format!("users_with_posts_and_comments(&pool) with {} users", blog.users.len());
        ok(&called, got);
        expect_some_statements(&called, &stmts);
        let comments = blog.comments.iter().filter(|c| c.user_id.is_some()).count();
        let bound = (blog.users.len() + blog.posts.len() + comments) as u64;
        if stmts.rows_returned() > bound {
            let example = blog.heavy_user();
            let (p, c) = (blog.posts_of(example.id).len(), blog.comments_by(example.id).len());
            Failure::new(&called)
                .expected(format!(
                    "at most {bound} rows over the wire: {} users + {} posts + {comments} comments",
                    blog.users.len(),
                    blog.posts.len()
                ))
                .got(format!("{} rows, from the statements listed under \"your code sent\"", stmts.rows_returned()))
                .sent(&stmts)
                .hint(format!(
                    "That is a Cartesian blow-up: one join of users to posts AND to comments pairs every post \
                     with every comment of the same user. User {} alone has {p} posts and {c} comments: {} rows \
                     for {} things. Load the second collection with a query of its own (WHERE user_id = ANY($1)).",
                    example.id,
                    p * c,
                    p + c
                ))
                .fail();
        }
    });
}

#[test]
fn users_with_posts_and_comments_takes_at_most_three_statements() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(40..61) as usize, 3).await;
        let (got, stmts) = db.wire().during(users_with_posts_and_comments(db.app_pool())).await;
        let called = format!("users_with_posts_and_comments(&pool) with {} users", blog.users.len());
        ok(&called, got);
        expect_statements(&called, &stmts, 1..=3, "at most 3 statements: users, posts, comments", blog.users.len());
    });
}

// ---------------------------------------------------------------------------
// Filtering parents by a child's column.
// ---------------------------------------------------------------------------

#[test]
fn users_with_a_post_tagged_keeps_all_their_posts() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut blog = Blog::generate(data::int(20..40) as usize, 3);
        let tag = blog.tag_some_posts_of_a_heavy_user();
        blog.insert(&db).await;
        let called = format!("users_with_a_post_tagged(&pool, {:?})", tag.name);
        let got = ok(&called, users_with_a_post_tagged(db.app_pool(), &tag.name).await);
        compare_users_with_posts(&called, &got, &blog.users_with_a_post_tagged(tag.id));
    });
}

#[test]
fn users_with_a_post_tagged_takes_at_most_two_statements() {
    check(async |db| {
        db.migrate(workbook::exercise::path("migrations")).await;
        let mut blog = Blog::generate(data::int(40..61) as usize, 3);
        let tag = blog.tag_some_posts_of_a_heavy_user();
        blog.insert(&db).await;
        let called = format!("users_with_a_post_tagged(&pool, {:?})", tag.name);
        let (got, stmts) = db.wire().during(users_with_a_post_tagged(db.app_pool(), &tag.name)).await;
        let found = ok(&called, got).len();
        expect_statements(&called, &stmts, 1..=2, "at most 2 statements", found);
    });
}

// ---------------------------------------------------------------------------
// Many-to-many: tags through the join table.
// ---------------------------------------------------------------------------

#[test]
fn posts_with_tags_loads_tags_through_the_join_table() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 3).await;
        let user = blog.heavy_user();
        let called = format!("posts_with_tags(&pool, {})", user.id);
        let got = ok(&called, posts_with_tags(db.app_pool(), user.id).await);
        compare_posts_with_tags(&called, &got, &blog.posts_with_tags(user.id));
    });
}

#[test]
fn posts_with_tags_takes_at_most_two_statements() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 3).await;
        let user = blog.heavy_user();
        let posts = blog.posts_of(user.id).len();
        let called = format!("posts_with_tags(&pool, {}) for a user with {posts} posts", user.id);
        let (got, stmts) = db.wire().during(posts_with_tags(db.app_pool(), user.id)).await;
        ok(&called, got);
        expect_statements(
            &called,
            &stmts,
            1..=2,
            "at most 2 statements: the posts, then the tags of all of them",
            posts,
        );
    });
}

// ---------------------------------------------------------------------------
// Judging what came back.
// ---------------------------------------------------------------------------

/// Fails unless the statement count is in `allowed`; `parents` is how many
/// rows the first query fans out over, to name an N+1 when it is one.
fn expect_statements(
    called: &str,
    stmts: &Traffic,
    allowed: std::ops::RangeInclusive<usize>,
    expected: &str,
    parents: usize,
) {
    expect_some_statements(called, stmts);
    if allowed.contains(&stmts.len()) {
        return;
    }
    let hint = if stmts.len() > parents.max(3) {
        format!(
            "This is the N+1 problem: 1 query for the parents, then 1 more for each of the {parents} of them, \
             so the count grows with the data. Load each collection once for all parents: a JOIN, or a second \
             query with WHERE parent_id = ANY($1) whose rows you group in Rust."
        )
    } else {
        "Fewer round trips: a JOIN, or one query per collection with WHERE parent_id = ANY($1).".to_owned()
    };
    Failure::new(called)
        .expected(expected)
        .got(format!("{} statements: every one is listed under \"your code sent\"", stmts.len()))
        .sent(stmts)
        .hint(hint)
        .fail();
}

/// None at all means the function answered without asking the database
/// (or asked another one than the pool it was given).
fn expect_some_statements(called: &str, stmts: &Traffic) {
    if stmts.is_empty() {
        Failure::new(called)
            .expected("to see the statements your code sends")
            .got("no statements at all")
            .hint("Run the queries on the pool you are given: the check sees every statement sent through it.")
            .fail();
    }
}

fn compare_users_with_posts(called: &str, got: &[UserWithPosts], want: &[UserWithPosts]) {
    let got_ids: Vec<i64> = got.iter().map(|u| u.user.id).collect();
    let want_ids: Vec<i64> = want.iter().map(|u| u.user.id).collect();
    expect_same_users(called, &got_ids, &want_ids, |id| {
        want.iter().find(|u| u.user.id == id).is_some_and(|u| u.posts.is_empty())
    });
    for (g, w) in got.iter().zip(want) {
        if g.user != w.user {
            Failure::new(called).expected(format!("{:?}", w.user)).got(format!("{:?}", g.user)).fail();
        }
        expect_same_children(
            called,
            &format!("user {}'s posts", w.user.id),
            &ids(&g.posts, |p| p.id),
            &ids(&w.posts, |p| p.id),
            "their posts",
        );
        if g.posts != w.posts {
            Failure::new(called)
                .expected(format!("user {}'s posts: {:?}", w.user.id, w.posts))
                .got(format!("{:?}", g.posts))
                .fail();
        }
    }
}

fn compare_users_with_posts_and_comments(
    called: &str,
    got: &[UserWithPostsAndComments],
    want: &[UserWithPostsAndComments],
) {
    let got_ids: Vec<i64> = got.iter().map(|u| u.user.id).collect();
    let want_ids: Vec<i64> = want.iter().map(|u| u.user.id).collect();
    expect_same_users(called, &got_ids, &want_ids, |id| {
        want.iter().find(|u| u.user.id == id).is_some_and(|u| u.posts.is_empty() || u.comments.is_empty())
    });
    for (g, w) in got.iter().zip(want) {
        if g.user != w.user {
            Failure::new(called).expected(format!("{:?}", w.user)).got(format!("{:?}", g.user)).fail();
        }
        let id = w.user.id;
        expect_same_children(
            called,
            &format!("user {id}'s posts"),
            &ids(&g.posts, |p| p.id),
            &ids(&w.posts, |p| p.id),
            "the posts they wrote",
        );
        expect_same_children(
            called,
            &format!("user {id}'s comments"),
            &ids(&g.comments, |c| c.id),
            &ids(&w.comments, |c| c.id),
            "the comments they wrote, on anyone's posts",
        );
        if g.posts != w.posts || g.comments != w.comments {
            Failure::new(called)
                .expected(format!("user {id}: posts {:?}, comments {:?}", w.posts, w.comments))
                .got(format!("posts {:?}, comments {:?}", g.posts, g.comments))
                .fail();
        }
    }
}

fn compare_posts_with_tags(called: &str, got: &[PostWithTags], want: &[PostWithTags]) {
    let got_ids: Vec<i64> = got.iter().map(|p| p.post.id).collect();
    let want_ids: Vec<i64> = want.iter().map(|p| p.post.id).collect();
    if let Some(missing) = want.iter().find(|w| !got_ids.contains(&w.post.id)) {
        let hint = if missing.tags.is_empty() {
            "A post with no tags has no post_tags row to match, so an INNER JOIN drops it. Load the posts first, \
             then their tags (or LEFT JOIN), and give an untagged post an empty Vec."
        } else {
            "Return every post of the user, each exactly once."
        };
        Failure::new(called)
            .expected(format!("posts {want_ids:?}"))
            .got(format!("posts {got_ids:?}: post {} ({} tags) is missing", missing.post.id, missing.tags.len()))
            .hint(hint)
            .fail();
    }
    if got_ids != want_ids {
        Failure::new(called)
            .expected(format!("posts {want_ids:?}: each once, in id order"))
            .got(format!("posts {got_ids:?}"))
            .hint("One entry per post: group the tag rows by post_id, and ORDER BY id.")
            .fail();
    }
    for (g, w) in got.iter().zip(want) {
        if g.post != w.post {
            Failure::new(called).expected(format!("{:?}", w.post)).got(format!("{:?}", g.post)).fail();
        }
        let names = |tags: &[Tag]| tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        if g.tags != w.tags {
            let hint = if sorted(names(&g.tags)) == sorted(names(&w.tags)) {
                "Right tags, wrong order: ORDER BY the tag's name."
            } else {
                "A post's tags are the tags rows whose id appears next to the post's id in post_tags."
            };
            Failure::new(called)
                .expected(format!("post {}'s tags: {:?}", w.post.id, names(&w.tags)))
                .got(format!("{:?}", names(&g.tags)))
                .hint(hint)
                .fail();
        }
    }
}

/// Users: none missing (naming the INNER JOIN when the missing one has no
/// children), none extra, none twice, in id order.
fn expect_same_users(called: &str, got: &[i64], want: &[i64], childless: impl Fn(i64) -> bool) {
    let mut seen = BTreeMap::new();
    for id in got {
        *seen.entry(*id).or_insert(0) += 1;
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        Failure::new(called)
            .expected(format!("each user once: {}", short_list(want)))
            .got(format!("user {id} {n} times"))
            .hint("A join repeats the user on every row it matches: fold consecutive rows of the same user into one entry.")
            .fail();
    }
    if let Some(missing) = want.iter().find(|id| !seen.contains_key(id)) {
        let hint = if childless(*missing) {
            "That user has no children to match, and an INNER JOIN keeps only rows with a match on both sides. \
             Use LEFT JOIN (the child's columns come back NULL), or load the children with a second query."
        } else {
            "Every user the function is asked about must come back."
        };
        Failure::new(called)
            .expected(format!("users {}", short_list(want)))
            .got(format!("users {}: user {missing} is missing", short_list(got)))
            .hint(hint)
            .fail();
    }
    if let Some(extra) = got.iter().find(|id| !want.contains(id)) {
        Failure::new(called)
            .expected(format!("users {}", short_list(want)))
            .got(format!("users {}: user {extra} should not be there", short_list(got)))
            .fail();
    }
    if got != want {
        Failure::new(called)
            .expected(format!("users in id order: {}", short_list(want)))
            .got(short_list(got))
            .hint("ORDER BY the user's id; a HashMap forgets the order, so keep a Vec.")
            .fail();
    }
}

/// One user's collection: same ids, each once, in id order; with the
/// mistakes that produce each difference named.
fn expect_same_children(called: &str, what: &str, got: &[i64], want: &[i64], meaning: &str) {
    if got == want {
        return;
    }
    let got_set: BTreeSet<i64> = got.iter().copied().collect();
    let want_set: BTreeSet<i64> = want.iter().copied().collect();
    let hint = if got_set == want_set && got.len() > want.len() {
        "Each child once: a join of two collections repeats each one for every row of the other (the \
         Cartesian trap). Load the second collection with a query of its own."
            .to_owned()
    } else if got_set == want_set {
        "The right ones in the wrong order: ORDER BY id.".to_owned()
    } else if got_set.is_subset(&want_set) {
        format!(
            "Some are missing. If you filtered on a child's column (a tag), that filter picks which users \
             qualify; it must not trim their collection. Put it in WHERE EXISTS (…) and load {meaning} unfiltered."
        )
    } else {
        format!("This collection holds {meaning}: match on the right foreign key column.")
    };
    Failure::new(called).expected(format!("{what}: {}", short_list(want))).got(short_list(got)).hint(hint).fail();
}

fn expect_childless_kept(called: &str, got: &[UserWithPosts], want: &[UserWithPosts]) {
    let childless: Vec<&UserWithPosts> = want.iter().filter(|u| u.posts.is_empty()).collect();
    let missing: Vec<&&UserWithPosts> =
        childless.iter().filter(|w| !got.iter().any(|g| g.user.id == w.user.id)).collect();
    if let Some(first) = missing.first() {
        Failure::new(called)
            .expected(format!("all {} users, including the {} who have no posts yet", want.len(), childless.len()))
            .got(format!(
                "{} users; {} of those without posts are missing, e.g. user {} ({})",
                got.len(),
                missing.len(),
                first.user.id,
                first.user.name
            ))
            .hint(
                "An INNER JOIN keeps only users with at least one matching post. LEFT JOIN keeps every user, \
                 with NULL in the post's columns where there is none: read those as Option and give that user \
                 an empty Vec.",
            )
            .fail();
    }
    for w in childless {
        if let Some(g) = got.iter().find(|g| g.user.id == w.user.id)
            && !g.posts.is_empty()
        {
            Failure::new(called)
                .expected(format!("user {} with no posts", w.user.id))
                .got(format!("posts {:?}", ids(&g.posts, |p| p.id)))
                .hint("Join posts ON posts.user_id = users.id, and skip the row's post when its id is NULL.")
                .fail();
        }
    }
}

// ---------------------------------------------------------------------------
// The blog each check builds.
// ---------------------------------------------------------------------------

/// Sample data for one check: what is inserted, and so what every answer
/// must be.
struct Blog {
    users: Vec<User>,
    posts: Vec<Post>,
    comments: Vec<Comment>,
    tags: Vec<Tag>,
    /// post_tags rows, as (post_id, tag_id).
    links: Vec<(i64, i64)>,
    /// Users with many posts and many comments.
    heavy: Vec<i64>,
}

impl Blog {
    /// Migrates, generates and inserts: the usual start of a check.
    async fn new_in(db: &Db, users: usize, heavy: usize) -> Blog {
        db.migrate(workbook::exercise::path("migrations")).await;
        let blog = Blog::generate(users, heavy);
        blog.insert(db).await;
        blog
    }

    /// `users` users: `heavy` of them with 5 to 8 posts and as many
    /// comments, about one in five with no posts at all (always two or
    /// more), the rest with a few. Ids have gaps and differ per table, so
    /// joining on the wrong column finds the wrong rows.
    fn generate(users: usize, heavy: usize) -> Blog {
        let mut user_ids = Ids::new();
        let mut post_ids = Ids::new();
        let users: Vec<User> = (0..users).map(|_| User { id: user_ids.next(), name: data::name() }).collect();

        let mut order: Vec<usize> = (0..users.len()).collect();
        data_shuffle(&mut order);
        let heavy_idx: Vec<usize> = order[..heavy].to_vec();
        let childless_idx: Vec<usize> = order[heavy..heavy + 2.max(users.len() / 5)].to_vec();

        let mut posts = Vec::new();
        for (i, user) in users.iter().enumerate() {
            let n = if heavy_idx.contains(&i) {
                data::int(5..9)
            } else if childless_idx.contains(&i) {
                0
            } else {
                data::int(1..5)
            };
            for _ in 0..n {
                posts.push(Post { id: post_ids.next(), user_id: user.id, title: title() });
            }
        }

        let mut blog =
            Blog { users, posts, comments: Vec::new(), tags: Vec::new(), links: Vec::new(), heavy: Vec::new() };
        blog.heavy = heavy_idx.iter().map(|i| blog.users[*i].id).collect();

        for i in 0..blog.users.len() {
            let n = if heavy_idx.contains(&i) { data::int(5..9) } else { data::int(0..4) };
            for _ in 0..n {
                let post = blog.posts[data::int(0..blog.posts.len() as i64) as usize].id;
                blog.add_comment(post, Some(blog.users[i].id));
            }
        }
        // Comments whose author was deleted belong to nobody's list.
        for _ in 0..2 {
            let post = blog.posts[data::int(0..blog.posts.len() as i64) as usize].id;
            blog.add_comment(post, None);
        }

        let mut tag_ids = Ids::new();
        let mut names = BTreeSet::new();
        let wanted = data::int(5..9) as usize;
        while names.len() < wanted {
            names.insert(data::word(7));
        }
        let mut names: Vec<String> = names.into_iter().collect();
        data_shuffle(&mut names);
        blog.tags = names.into_iter().map(|name| Tag { id: tag_ids.next(), name }).collect();
        for p in 0..blog.posts.len() {
            // The first post stays untagged, so there is always one.
            let n = if p == 0 { 0 } else { data::int(0..4) };
            let mut chosen = BTreeSet::new();
            for _ in 0..n {
                chosen.insert(blog.tags[data::int(0..blog.tags.len() as i64) as usize].id);
            }
            blog.links.extend(chosen.into_iter().map(|t| (blog.posts[p].id, t)));
        }
        blog
    }

    fn add_comment(&mut self, post_id: i64, user_id: Option<i64>) -> Comment {
        let id = self.comments.last().map_or(data::int(1..300), |c| c.id + data::int(1..4));
        let comment = Comment { id, post_id, user_id, body: format!("{} {}", data::word(5), data::word(8)) };
        self.comments.push(comment.clone());
        comment
    }

    /// Makes one tag the filter of a check: on one post of a heavy user
    /// and not on their last post (so filtering must not trim their
    /// posts), and on nothing of one other heavy user's.
    fn tag_some_posts_of_a_heavy_user(&mut self) -> Tag {
        let tag = self.tags[data::int(0..self.tags.len() as i64) as usize].clone();
        let user = self.heavy[0];
        let posts: Vec<i64> = self.posts_of(user).iter().map(|p| p.id).collect();
        let last = *posts.last().expect("heavy users have posts");
        self.links.retain(|&(p, t)| !(t == tag.id && p == last));
        if !self.links.contains(&(posts[0], tag.id)) {
            self.links.push((posts[0], tag.id));
        }
        if let Some(&spared) = self.heavy.get(1) {
            let theirs: Vec<i64> = self.posts_of(spared).iter().map(|p| p.id).collect();
            self.links.retain(|&(p, t)| !(t == tag.id && theirs.contains(&p)));
        }
        tag
    }

    async fn insert(&self, db: &Db) {
        let pool = db.pool();
        let run = async |table: &str, q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>| {
            if let Err(e) = q.execute(pool).await {
                Failure::new(format!("inserting the check's sample {table}"))
                    .expected("the insert to succeed on the schema in migrations/0001_blog.up.sql")
                    .got(e.to_string())
                    .hint("Keep the tables and columns as the starter gives them; add REFERENCES clauses and indexes.")
                    .fail();
            }
        };
        run(
            "users",
            sqlx::query(
                "INSERT INTO users (id, name) OVERRIDING SYSTEM VALUE SELECT * FROM UNNEST($1::bigint[], $2::text[])",
            )
            .bind(self.users.iter().map(|u| u.id).collect::<Vec<_>>())
            .bind(self.users.iter().map(|u| u.name.clone()).collect::<Vec<_>>()),
        )
        .await;
        run(
            "posts",
            sqlx::query(
                "INSERT INTO posts (id, user_id, title) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[])",
            )
            .bind(self.posts.iter().map(|p| p.id).collect::<Vec<_>>())
            .bind(self.posts.iter().map(|p| p.user_id).collect::<Vec<_>>())
            .bind(self.posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>()),
        )
        .await;
        run(
            "comments",
            sqlx::query(
                "INSERT INTO comments (id, post_id, user_id, body) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])",
            )
            .bind(self.comments.iter().map(|c| c.id).collect::<Vec<_>>())
            .bind(self.comments.iter().map(|c| c.post_id).collect::<Vec<_>>())
            .bind(self.comments.iter().map(|c| c.user_id).collect::<Vec<_>>())
            .bind(self.comments.iter().map(|c| c.body.clone()).collect::<Vec<_>>()),
        )
        .await;
        run(
            "tags",
            sqlx::query(
                "INSERT INTO tags (id, name) OVERRIDING SYSTEM VALUE SELECT * FROM UNNEST($1::bigint[], $2::text[])",
            )
            .bind(self.tags.iter().map(|t| t.id).collect::<Vec<_>>())
            .bind(self.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>()),
        )
        .await;
        run(
            "post_tags",
            sqlx::query("INSERT INTO post_tags (post_id, tag_id) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])")
                .bind(self.links.iter().map(|l| l.0).collect::<Vec<_>>())
                .bind(self.links.iter().map(|l| l.1).collect::<Vec<_>>()),
        )
        .await;
    }

    fn posts_of(&self, user_id: i64) -> Vec<Post> {
        let mut posts: Vec<Post> = self.posts.iter().filter(|p| p.user_id == user_id).cloned().collect();
        posts.sort_by_key(|p| p.id);
        posts
    }

    fn comments_by(&self, user_id: i64) -> Vec<Comment> {
        let mut comments: Vec<Comment> = self.comments.iter().filter(|c| c.user_id == Some(user_id)).cloned().collect();
        comments.sort_by_key(|c| c.id);
        comments
    }

    fn tags_of(&self, post_id: i64) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self.tags.iter().filter(|t| self.links.contains(&(post_id, t.id))).cloned().collect();
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        tags
    }

    fn sorted_users(&self) -> Vec<User> {
        let mut users = self.users.clone();
        users.sort_by_key(|u| u.id);
        users
    }

    fn users_with_posts(&self) -> Vec<UserWithPosts> {
        self.sorted_users().into_iter().map(|user| UserWithPosts { posts: self.posts_of(user.id), user }).collect()
    }

    fn users_with_posts_and_comments(&self) -> Vec<UserWithPostsAndComments> {
        self.sorted_users()
            .into_iter()
            .map(|user| UserWithPostsAndComments {
                posts: self.posts_of(user.id),
                comments: self.comments_by(user.id),
                user,
            })
            .collect()
    }

    fn users_with_a_post_tagged(&self, tag_id: i64) -> Vec<UserWithPosts> {
        self.users_with_posts()
            .into_iter()
            .filter(|u| u.posts.iter().any(|p| self.links.contains(&(p.id, tag_id))))
            .collect()
    }

    fn posts_with_tags(&self, user_id: i64) -> Vec<PostWithTags> {
        self.posts_of(user_id).into_iter().map(|post| PostWithTags { tags: self.tags_of(post.id), post }).collect()
    }

    fn heavy_user(&self) -> User {
        let id = self.heavy[0];
        self.users.iter().find(|u| u.id == id).cloned().expect("heavy users exist")
    }

    /// Another user who has posts.
    fn someone_else(&self, not: i64) -> User {
        self.users
            .iter()
            .find(|u| u.id != not && !self.posts_of(u.id).is_empty())
            .cloned()
            .expect("more than one user has posts")
    }

    /// About half of the users, in random order: at least one without posts
    /// and one heavy user among them.
    fn some_user_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.users.iter().filter(|_| data::int(0..2) == 0).map(|u| u.id).collect();
        let childless = self.users.iter().find(|u| self.posts_of(u.id).is_empty()).expect("some users have no posts");
        for id in [childless.id, self.heavy[0]] {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() == self.users.len() {
            ids.retain(|id| *id != self.heavy[1]);
        }
        data_shuffle(&mut ids);
        ids
    }

    fn most_used_tag(&self) -> (Tag, usize) {
        self.tags
            .iter()
            .map(|t| (t.clone(), self.links.iter().filter(|l| l.1 == t.id).count()))
            .max_by_key(|(_, n)| *n)
            .expect("there are tags")
    }

    fn most_tagged_post(&self) -> (Post, Vec<Tag>) {
        self.posts
            .iter()
            .map(|p| (p.clone(), self.tags_of(p.id)))
            .max_by_key(|(_, tags)| tags.len())
            .expect("there are posts")
    }
}

/// Increasing ids with gaps, starting somewhere different every run.
struct Ids(i64);

impl Ids {
    fn new() -> Ids {
        Ids(data::int(1..400))
    }

    fn next(&mut self) -> i64 {
        self.0 += data::int(1..5);
        self.0
    }
}

fn title() -> String {
    format!("On {} and {}", data::word(6), data::word(5))
}

fn data_shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, data::int(0..i as i64 + 1) as usize);
    }
}

// ---------------------------------------------------------------------------
// The catalog and other helpers.
// ---------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct ForeignKey {
    table_name: String,
    column_name: String,
    referenced: String,
    on_delete: String,
}

async fn foreign_keys(db: &Db) -> Vec<ForeignKey> {
    let sql = "SELECT t.relname::text AS table_name, a.attname::text AS column_name,
                      r.relname::text AS referenced, c.confdeltype::text AS on_delete
               FROM pg_constraint c
               JOIN pg_class t ON t.oid = c.conrelid
               JOIN pg_class r ON r.oid = c.confrelid
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
               WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace";
    sqlx::query_as(sql).fetch_all(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

/// Whether a complete (not partial) index on `table` has `column` first.
async fn has_leading_index(db: &Db, table: &str, column: &str) -> bool {
    let sql = "SELECT EXISTS (
                   SELECT 1 FROM pg_index i
                   JOIN pg_class t ON t.oid = i.indrelid
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
                   WHERE t.relnamespace = 'public'::regnamespace AND t.relname = $1 AND a.attname = $2
                     AND i.indpred IS NULL)";
    sqlx::query_scalar(sql).bind(table).bind(column).fetch_one(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

fn rule_name(code: &str) -> &'static str {
    match code {
        "c" => "CASCADE",
        "n" => "SET NULL",
        "r" => "RESTRICT",
        "d" => "SET DEFAULT",
        _ => "NO ACTION (the default)",
    }
}

/// Runs a DELETE the schema must allow, failing with PostgreSQL's reason
/// if it refuses.
async fn delete(db: &Db, sql: &'static str, id: i64, what: &str) {
    if let Err(e) = sqlx::query(sql).bind(id).execute(db.pool()).await {
        Failure::new(sql.replace("$1", &id.to_string()))
            .expected(format!("{what} deleted, its dependants handled by the ON DELETE rules"))
            .got(e.to_string())
            .hint("A rule that refuses (RESTRICT, NO ACTION) belongs only where deleting the parent must wait for its children; the message names the constraint.")
            .fail();
    }
}

async fn scalar<T>(pool: &sqlx::PgPool, sql: &'static str, arg: T) -> i64
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    sqlx::query_scalar(sql).bind(arg).fetch_one(pool).await.unwrap_or_else(|e| query_failed(sql, e))
}

async fn scalar_ids(pool: &sqlx::PgPool, sql: &'static str, ids: &[i64]) -> i64 {
    sqlx::query_scalar(sql).bind(ids).fetch_one(pool).await.unwrap_or_else(|e| query_failed(sql, e))
}

fn query_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what.split_whitespace().collect::<Vec<_>>().join(" "))
        .expected("the check's own query to run")
        .got(e.to_string())
        .hint("The tables and columns come from migrations/0001_blog.up.sql: keep the names the starter gives.")
        .fail()
}

fn ok<T>(called: &str, result: Result<T, sqlx::Error>) -> T {
    result.unwrap_or_else(|e| Failure::new(called).expected("Ok(..)").got(format!("Err({e})")).fail())
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> i64) -> Vec<i64> {
    items.iter().map(id).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `[1, 2, 3]`, cut short after a dozen.
fn short_list(ids: &[i64]) -> String {
    if ids.len() <= 12 {
        return format!("{ids:?}");
    }
    let head: Vec<String> = ids[..12].iter().map(i64::to_string).collect();
    format!("[{}, … {} more]", head.join(", "), ids.len() - 12)
}

fn indent(lines: &[String]) -> String {
    lines.iter().map(|l| format!("\n    {l}")).collect()
}
