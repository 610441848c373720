//! The checks for `associations`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run associations`.
//!
//! The first half reads the schema your migration builds: its foreign
//! keys, their ON DELETE rules, and their indexes, from the catalog and by
//! deleting parents to see what happens to the children. The second half
//! calls your four functions, one per kind of association, on a blog
//! generated for this run (ids with gaps, different in every table, and
//! some users with no posts), so no answer can be written in by hand.

use std::collections::BTreeSet;

use associations::{Comment, Post, Tag, User, author_of, posts_by, tag_post, tags_of};
use workbook::{Db, Failure, check, data};

/// The book's sections, named in the failures that need them.
const READ_FOREIGN_KEY: &str = "book/src/associations/index.md#an-association-is-a-foreign-key";
const READ_ON_DELETE: &str = "book/src/associations/index.md#what-happens-to-the-children-on-delete";
const READ_INDEX: &str = "book/src/associations/index.md#index-every-foreign-key";
const READ_IN_RUST: &str = "book/src/associations/index.md#associations-in-rust";
const READ_JOIN_TABLE: &str = "book/src/associations/index.md#many-to-many-a-join-table";

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
                .hint(format!(
                    "An association is a foreign key: write `REFERENCES parent (id) ON DELETE <rule>` after the \
                     column's type in migrations/0001_blog.up.sql. Without it PostgreSQL accepts a post whose \
                     user does not exist, and deleting a user leaves orphans behind. (Read {READ_FOREIGN_KEY}, \
                     then {READ_ON_DELETE} for the rules.)"
                ))
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
                     `CREATE INDEX {table}_{column}_idx ON {table} ({column});` (Read {READ_INDEX}.)"
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
// The associations in Rust: belongs-to, has-many, many-to-many.
// ---------------------------------------------------------------------------

#[test]
fn author_of_gives_the_user_who_wrote_the_post() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 3).await;
        let mut posts = blog.posts.clone();
        data_shuffle(&mut posts);
        for post in posts.iter().take(4) {
            let called = format!("author_of(&pool, {})", post.id);
            let (got, stmts) = db.wire().during(author_of(db.app_pool(), post.id)).await;
            let got = ok(&called, got);
            let want = blog.user(post.user_id);
            if got.as_ref() != Some(&want) {
                let by_post_id = blog.users.iter().find(|u| u.id == post.id).cloned();
                let hint = if got == by_post_id {
                    format!(
                        "That is what looking up the user whose id is the post's id gives. The association is \
                         the post's user_id column: follow it, users.id = posts.user_id. (Read {READ_IN_RUST}.)"
                    )
                } else if got.is_none() {
                    format!(
                        "Post {} exists and was written by user {}: join posts to users on the foreign key. \
                         (Read {READ_IN_RUST}.)",
                        post.id, want.id
                    )
                } else {
                    format!("A post belongs to the user its user_id names. (Read {READ_IN_RUST}.)")
                };
                Failure::new(&called)
                    .expected(format!("Some({want:?}): post {} has user_id {}", post.id, post.user_id))
                    .got(format!("{got:?}"))
                    .sent(&stmts)
                    .hint(hint)
                    .fail();
            }
            if stmts.len() != 1 {
                Failure::new(&called)
                    .expected("1 statement: posts JOIN users, WHERE the post's id is $1")
                    .got(format!("{} statements: every one is listed under \"your code sent\"", stmts.len()))
                    .sent(&stmts)
                    .hint(format!(
                        "One round trip is enough: the join follows posts.user_id to the user in the same \
                         query. (Read {READ_IN_RUST}.)"
                    ))
                    .fail();
            }
        }
    });
}

#[test]
fn author_of_an_unknown_post_is_none() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(8..15) as usize, 2).await;
        let missing = blog.posts.iter().map(|p| p.id).max().unwrap_or(0) + data::int(1..50);
        let called = format!("author_of(&pool, {missing}) (no post has that id)");
        match author_of(db.app_pool(), missing).await {
            Ok(None) => {}
            Ok(Some(user)) => Failure::new(&called)
                .expected("Ok(None)")
                .got(format!("Ok(Some({user:?}))"))
                .hint("There is no such post, so it has no author: look the user up through the post's row.")
                .fail(),
            Err(e) => Failure::new(&called)
                .expected("Ok(None)")
                .got(format!("Err({e})"))
                .hint(
                    "A post that does not exist is an answer, not an error: fetch_optional gives None where \
                     fetch_one gives Err(RowNotFound).",
                )
                .fail(),
        }
    });
}

#[test]
fn posts_by_gives_a_user_exactly_their_posts_in_id_order() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 3).await;
        let childless = blog.childless_user();
        for user in [blog.heavy_user(), childless] {
            let called = format!("posts_by(&pool, {})", user.id);
            let got = ok(&called, posts_by(db.app_pool(), user.id).await);
            let want = blog.posts_of(user.id);
            if got != want {
                let got_ids: BTreeSet<i64> = got.iter().map(|p| p.id).collect();
                let want_ids: BTreeSet<i64> = want.iter().map(|p| p.id).collect();
                let hint = if got_ids == want_ids {
                    "The right posts in the wrong order: ORDER BY id.".to_owned()
                } else if want.is_empty() {
                    format!("User {} wrote no posts, so the answer is an empty Vec.", user.id)
                } else {
                    format!(
                        "A user has many posts: the rows of posts whose user_id is the user's id, \
                         WHERE user_id = $1. (Read {READ_IN_RUST}.)"
                    )
                };
                Failure::new(&called)
                    .expected(format!("{} posts: {:?}", want.len(), want))
                    .got(format!("{} posts: {:?}", got.len(), got))
                    .hint(hint)
                    .fail();
            }
        }
    });
}

#[test]
fn tags_of_reads_the_tags_through_the_join_table() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(10..20) as usize, 3).await;
        let (tagged, _) = blog.most_tagged_post();
        // The first post is never tagged.
        let untagged = blog.posts[0].clone();
        for post in [tagged, untagged] {
            let called = format!("tags_of(&pool, {})", post.id);
            let got = ok(&called, tags_of(db.app_pool(), post.id).await);
            let want = blog.tags_of(post.id);
            if got != want {
                let names = |tags: &[Tag]| tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
                let mut sorted = names(&got);
                sorted.sort();
                let hint = if sorted == names(&want) {
                    "The right tags in the wrong order: ORDER BY the tag's name.".to_owned()
                } else {
                    format!(
                        "A post's tags are the tags rows whose id sits next to the post's id in post_tags: \
                         post_tags JOIN tags ON tags.id = post_tags.tag_id WHERE post_tags.post_id = $1. \
                         (Read {READ_JOIN_TABLE}.)"
                    )
                };
                Failure::new(&called)
                    .expected(format!("post {}'s tags: {:?}", post.id, names(&want)))
                    .got(format!("{:?}", names(&got)))
                    .hint(hint)
                    .fail();
            }
        }
    });
}

#[test]
fn tag_post_adds_a_link_once_and_reports_whether_it_was_new() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(8..15) as usize, 2).await;
        let post = blog.posts[0].clone();
        let tag = blog.tags[data::int(0..blog.tags.len() as i64) as usize].clone();
        let before: i64 = scalar(db.pool(), "SELECT count(*) FROM post_tags WHERE tag_id <> $1", tag.id).await;
        let count = async || -> i64 {
            sqlx::query_scalar("SELECT count(*) FROM post_tags WHERE post_id = $1 AND tag_id = $2")
                .bind(post.id)
                .bind(tag.id)
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| query_failed("SELECT count(*) FROM post_tags", e))
        };

        let called = format!("tag_post(&pool, {}, {}) on a post without that tag", post.id, tag.id);
        let first = ok(&called, tag_post(db.app_pool(), post.id, tag.id).await);
        let links = count().await;
        if !first || links != 1 {
            Failure::new(&called)
                .expected("Ok(true), and one post_tags row for the pair")
                .got(format!("Ok({first}), and {links} post_tags rows for the pair"))
                .hint(format!(
                    "Tagging a post is one INSERT into the join table: INSERT INTO post_tags (post_id, tag_id) \
                     VALUES ($1, $2). Report true when it inserted a row. (Read {READ_JOIN_TABLE}.)"
                ))
                .fail();
        }

        let called = format!("tag_post(&pool, {}, {}) a second time", post.id, tag.id);
        let again = tag_post(db.app_pool(), post.id, tag.id).await;
        let links = count().await;
        match again {
            Ok(false) if links == 1 => {}
            Ok(answer) => Failure::new(&called)
                .expected("Ok(false), and still one post_tags row for the pair")
                .got(format!("Ok({answer}), and {links} post_tags rows for the pair"))
                .hint(
                    "The second time there is nothing to add. rows_affected() says whether the INSERT \
                     added a row: 1 the first time, 0 when ON CONFLICT DO NOTHING skipped it.",
                )
                .fail(),
            Err(e) => Failure::new(&called)
                .expected("Ok(false): the post already has the tag")
                .got(format!("Err({e})"))
                .hint(
                    "The primary key (post_id, tag_id) refuses the same pair twice, which is right, and an \
                     error, which is not: end the INSERT with ON CONFLICT DO NOTHING and read rows_affected().",
                )
                .fail(),
        }
        let after: i64 = scalar(db.pool(), "SELECT count(*) FROM post_tags WHERE tag_id <> $1", tag.id).await;
        if after != before {
            Failure::new(format!("tag_post(&pool, {}, {}), twice", post.id, tag.id))
                .expected(format!("the other {before} post_tags rows untouched"))
                .got(format!("{after} of them left"))
                .fail();
        }
    });
}

#[test]
fn tag_post_with_a_tag_that_does_not_exist_is_refused() {
    check(async |db| {
        let blog = Blog::new_in(&db, data::int(8..15) as usize, 2).await;
        let post = blog.posts[0].id;
        let missing = blog.tags.iter().map(|t| t.id).max().unwrap_or(0) + data::int(1..50);
        let called = format!("tag_post(&pool, {post}, {missing}) (no tag has id {missing})");
        match tag_post(db.app_pool(), post, missing).await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {}
            Err(e) => Failure::new(&called)
                .expected("the foreign key's error: SQLSTATE 23503, foreign key violation")
                .got(format!("Err({e})"))
                .hint("Let the database refuse it: the INSERT alone, with the foreign key on post_tags.tag_id, gives that error.")
                .fail(),
            Ok(answer) => {
                let links: i64 = scalar(db.pool(), "SELECT count(*) FROM post_tags WHERE tag_id = $1", missing).await;
                Failure::new(&called)
                    .expected("Err(..): a foreign key violation (SQLSTATE 23503)")
                    .got(format!("Ok({answer}), and {links} post_tags rows pointing at a tag that does not exist"))
                    .hint(format!(
                        "post_tags.tag_id needs REFERENCES tags (id), so that PostgreSQL refuses a link to \
                         nothing; return the error the INSERT gives. (Read {READ_FOREIGN_KEY}.)"
                    ))
                    .fail()
            }
        }
    });
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

    fn tags_of(&self, post_id: i64) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self.tags.iter().filter(|t| self.links.contains(&(post_id, t.id))).cloned().collect();
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        tags
    }

    fn user(&self, id: i64) -> User {
        self.users.iter().find(|u| u.id == id).cloned().expect("the user exists")
    }

    fn childless_user(&self) -> User {
        self.users.iter().find(|u| self.posts_of(u.id).is_empty()).cloned().expect("some users have no posts")
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

fn indent(lines: &[String]) -> String {
    lines.iter().map(|l| format!("\n    {l}")).collect()
}
