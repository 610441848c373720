//! The checks for `eager_loading`. Each test is one check; its name says
//! what it expects. Run them with `cargo checker run eager_loading`.
//!
//! Every check builds a blog of its own from data generated for this run
//! (sizes vary, and some users have no posts at all), calls your code, and
//! compares with what that data says. The loaders are measured too: how
//! many statements they send, and how many rows come back over the wire.
//! The schema is given (it is the answer to `associations`), so every
//! failure here is about how the rows are loaded.

use std::collections::{BTreeMap, BTreeSet};

use eager_loading::{
    Comment, Post, PostWithTags, Tag, User, UserWithPosts, UserWithPostsAndComments, posts_with_tags,
    users_with_a_post_tagged, users_with_posts_and_comments, users_with_posts_batched, users_with_posts_joined,
};
use workbook::wire::Traffic;
use workbook::{Db, Failure, check, data};

/// The book's sections, named in the failures that need them.
const READ_N_PLUS_ONE: &str = "book/src/eager_loading/index.md#lazy-loading-and-the-n1-problem";
const READ_LEFT_JOIN: &str = "book/src/eager_loading/index.md#keep-the-parents-with-no-children-left-join";
const READ_CARTESIAN: &str = "book/src/eager_loading/index.md#the-cartesian-trap";
const READ_FILTER: &str = "book/src/eager_loading/index.md#filtering-by-a-child-without-losing-children";

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
                     for {} things. Load the second collection with a query of its own (WHERE user_id = ANY($1)). \
                     (Read {READ_CARTESIAN}.)",
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
             query with WHERE parent_id = ANY($1) whose rows you group in Rust. (Read {READ_N_PLUS_ONE}.)"
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
             qualify; it must not trim their collection. Put it in WHERE EXISTS (…) and load {meaning} unfiltered. (Read {READ_FILTER}.)"
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
            .hint(format!(
                "An INNER JOIN keeps only users with at least one matching post. LEFT JOIN keeps every user, \
                 with NULL in the post's columns where there is none: read those as Option and give that user \
                 an empty Vec. (Read {READ_LEFT_JOIN}.)"
            ))
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
                    .hint("The schema is given, and grading uses the course's copy of it: `git checkout exercises/eager_loading/migrations` puts yours back.")
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
