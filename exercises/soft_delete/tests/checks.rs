//! The checks for `soft_delete`. Each test is one check; its name says what
//! it expects. Run them with `cargo checker run soft_delete`.
//!
//! Every check builds a club of its own from data generated for this run:
//! members with gaps in their ids, about a third of them deleted (the first
//! and the last by id always), addresses in a few cities, orders carrying
//! copies of their members' names and addresses. Traps are planted on
//! purpose: an email used by a deleted member and re-registered by a live
//! one, an email only a deleted member ever had, a deleted member living in
//! the city a check asks about. Your code reaches the database through the
//! check's relay, which records every statement it sends.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use soft_delete::{
    Member, MemberError, NewMember, count, delete, find, find_by_email, find_with_deleted, force_delete, list,
    list_with_deleted, members_in_city, purge, register, restore,
};
use workbook::wire::Traffic;
use workbook::{Db, Failure, catalog, check, data};

// ---------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------

#[test]
fn email_is_unique_among_live_members_only_in_the_catalog() {
    check(async |db| {
        migrate(&db).await;
        let pool = db.pool();
        let columns = catalog::columns(pool, "members").await.unwrap_or_else(|e| query_failed("reading columns", e));
        let mut problems = Vec::new();
        match columns.iter().find(|c| c.name == "deleted_at") {
            None => problems.push("members has no deleted_at column".to_owned()),
            Some(c) if c.data_type != "timestamp with time zone" => {
                problems.push(format!("deleted_at is {}, not timestamptz", c.data_type))
            }
            Some(c) if c.not_null => problems.push("deleted_at is NOT NULL: a live member has no deletion time".into()),
            Some(c) if c.default.is_some() => problems.push(format!(
                "deleted_at has a default ({}): every new member would be born deleted",
                c.default.as_deref().unwrap_or_default()
            )),
            Some(_) => {}
        }
        let indexes = catalog::indexes(pool, "members").await.unwrap_or_else(|e| query_failed("reading indexes", e));
        let on_email = |i: &&catalog::Index| i.columns.iter().any(|c| c == "email" || c == "lower(email)");
        let partial = indexes.iter().filter(on_email).find(|i| {
            i.unique
                && i.columns.len() == 1
                && i.predicate.as_deref().map(normalise).as_deref() == Some("deleted_atisnull")
        });
        if partial.is_none() {
            let near: Vec<String> = indexes.iter().filter(on_email).map(|i| i.definition.clone()).collect();
            problems.push(if near.is_empty() {
                "no unique index on members (email) WHERE deleted_at IS NULL".to_owned()
            } else {
                format!(
                    "no unique index on members (email) WHERE deleted_at IS NULL; the indexes on email are:{}",
                    indent(&near)
                )
            });
        }
        // Any other unique index over email that holds deleted rows too:
        // a plain UNIQUE (email), or UNIQUE (email, deleted_at).
        for i in indexes.iter().filter(on_email).filter(|i| i.unique && i.predicate.is_none()) {
            problems.push(format!(
                "{} is unique over deleted rows too: {}{}",
                i.name,
                i.definition,
                if i.columns.len() > 1 {
                    " (NULLs are never equal, so live members, whose deleted_at is NULL, are never duplicates of each other)"
                } else {
                    " (a deleted member's email could never be registered again)"
                }
            ));
        }
        if !problems.is_empty() {
            Failure::new("reading members' columns and indexes from the catalog after applying migrations/")
                .expected(
                    "deleted_at timestamptz (NULL for live members, no default), and exactly one unique index over \
                     email, partial: WHERE deleted_at IS NULL",
                )
                .got(format!("{} problem(s):{}", problems.len(), indent(&problems)))
                .hint(
                    "The table needs a nullable deleted_at timestamptz, and email must be unique among live \
                     members only: a plain UNIQUE counts deleted rows too, so it goes, and an index that only \
                     covers live rows takes its place (book/src/soft_delete/index.md#unique-among-the-living).",
                )
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// Registering: the partial unique index at work
// ---------------------------------------------------------------------------

#[test]
fn a_deleted_members_email_can_be_registered_again() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let gone = club.only_deleted();
        let new = NewMember { email: gone.email.clone(), name: data::name() };
        let called = format!("register(&pool, {new:?}) where member {} (deleted) had that email", gone.id);
        let made = match register(db.app_pool(), &new).await {
            Ok(m) => m,
            Err(e) => Failure::new(&called)
                .expected("Ok(the new member): the only member with that email is deleted")
                .got(format!("Err({e:?})"))
                .hint(
                    "A plain UNIQUE on email counts deleted rows too. Replace it with a partial unique index, \
                     `CREATE UNIQUE INDEX ... ON members (email) WHERE deleted_at IS NULL`, which holds live \
                     members only.",
                )
                .fail(),
        };
        let stored = member_row(&db, made.id).await;
        if stored.as_ref() != Some(&made) || made.email != new.email || made.name != new.name || made.id == gone.id {
            Failure::new(&called)
                .expected(format!("a new live member with a new id, email {:?}, as stored in the table", new.email))
                .got(format!("returned {made:?}; the table holds {stored:?}"))
                .hint("INSERT ... RETURNING id, email, name, joined_at, deleted_at hands back the row as stored.")
                .fail();
        }
        let old = member_row(&db, gone.id).await;
        if old.as_ref() != Some(gone) {
            Failure::new(&called)
                .expected(format!("the deleted member {} left as they were", gone.id))
                .got(format!("{old:?}"))
                .fail();
        }
    });
}

#[test]
fn two_live_members_cannot_share_an_email() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let live = club.reregistered();
        let new = NewMember { email: live.email.clone(), name: data::name() };
        let called = format!("register(&pool, {new:?}) where live member {} has that email", live.id);
        let got = register(db.app_pool(), &new).await;
        let rows = rows_with_email(&db, &live.email).await;
        match got {
            Err(MemberError::EmailTaken(email)) if email == live.email && rows == 2 => {}
            Err(MemberError::EmailTaken(email)) if email != live.email => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?}))", live.email))
                .got(format!("Err(EmailTaken({email:?}))"))
                .fail(),
            Err(MemberError::Database(e)) => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?}))", live.email))
                .got(format!("Err(Database({e}))"))
                .hint(
                    "Match the unique violation: sqlx::Error::Database(d) with d.code() == Some(\"23505\") becomes \
                     MemberError::EmailTaken(new.email.clone()).",
                )
                .fail(),
            other => Failure::new(&called)
                .expected(format!(
                    "Err(EmailTaken({:?})), and still 2 rows with that email (one deleted, one live)",
                    live.email
                ))
                .got(format!("{other:?}, and {rows} rows with that email"))
                .hint(
                    "Nothing stopped a second live member with the same email. A unique constraint over (email, \
                     deleted_at) does not: live members have deleted_at NULL, and NULL never equals NULL. Use a \
                     partial unique index on (email) WHERE deleted_at IS NULL.",
                )
                .fail(),
        }
        // A fresh email still goes in.
        let fresh = NewMember { email: data::email(), name: data::name() };
        if let Err(e) = register(db.app_pool(), &fresh).await {
            Failure::new(format!("register(&pool, {fresh:?}), an email nobody has"))
                .expected("Ok(the new member)")
                .got(format!("Err({e:?})"))
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// The default scope: deleted members are gone for every ordinary read
// ---------------------------------------------------------------------------

#[test]
fn find_and_find_by_email_never_return_a_deleted_member() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let app = db.app_pool();
        for m in [club.first(), club.deleted_twin(), club.last()] {
            let got = find(app, m.id).await.unwrap_or_else(|e| err(&format!("find(&pool, {})", m.id), e));
            if let Some(got) = got {
                Failure::new(format!("find(&pool, {}) for a member deleted at {}", m.id, show_time(m.deleted_at)))
                    .expected("Ok(None): a deleted member is not found")
                    .got(format!("Ok(Some({got:?}))"))
                    .hint("Every ordinary read filters on `deleted_at IS NULL` (book: Soft deletes, \"The default scope\").")
                    .fail();
            }
        }
        let live = club.some_live();
        let got = find(app, live.id).await.unwrap_or_else(|e| err("find", e));
        expect_member(&format!("find(&pool, {})", live.id), got.as_ref(), Some(live));

        let reused = club.reregistered();
        let called = format!(
            "find_by_email(&pool, {:?}) (the email of deleted member {} and of live member {})",
            reused.email,
            club.deleted_twin().id,
            reused.id
        );
        let got = find_by_email(app, &reused.email).await.unwrap_or_else(|e| err(&called, e));
        expect_member(&called, got.as_ref(), Some(reused));
        let gone = club.only_deleted();
        let called = format!("find_by_email(&pool, {:?}) (only deleted member {} had it)", gone.email, gone.id);
        let got = find_by_email(app, &gone.email).await.unwrap_or_else(|e| err(&called, e));
        expect_member(&called, got.as_ref(), None);
    });
}

#[test]
fn list_shows_every_live_member_and_no_deleted_one() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let (got, sent) = db.wire().during(list(db.app_pool())).await;
        let called = format!("list(&pool) over {}", club.summary());
        let got = got.unwrap_or_else(|e| err(&called, e));
        expect_members(&called, &got, &club.live());
        expect_filtered_by_the_database(&called, &sent, club.live().len());
    });
}

#[test]
fn count_counts_the_live_members_in_the_database() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let (got, sent) = db.wire().during(count(db.app_pool())).await;
        let called = format!("count(&pool) over {}", club.summary());
        let got = got.unwrap_or_else(|e| err(&called, e));
        let want = club.live().len() as i64;
        if got != want {
            let hint = if got == club.members.len() as i64 {
                "That is every row, deleted ones included: count only the rows WHERE deleted_at IS NULL."
            } else {
                "SELECT count(*) FROM members WHERE deleted_at IS NULL."
            };
            Failure::new(&called)
                .expected(format!("Ok({want})"))
                .got(format!("Ok({got})"))
                .hint(hint)
                .sent(&sent)
                .fail();
        }
        if sent.rows_returned() > 1 {
            Failure::new(&called)
                .expected("the database to count: one statement, one row back")
                .got(format!("{} rows came back, counted in Rust", sent.rows_returned()))
                .hint("Counting is the database's work: ask it for the number and one row comes back. Sending every row to count them costs the whole table's worth of traffic (book/src/soft_delete/index.md#the-default-scope).")
                .sent(&sent)
                .fail();
        }
    });
}

#[test]
fn members_in_city_hides_deleted_members_and_lists_each_once() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let city = club.city.clone();
        let called = format!(
            "members_in_city(&pool, {city:?}) (a deleted member lives there; a live one has two addresses there)"
        );
        let (got, sent) = db.wire().during(members_in_city(db.app_pool(), &city)).await;
        let got = got.unwrap_or_else(|e| err(&called, e));
        let want = club.live_in(&city);
        expect_members(&called, &got, &want);
        expect_filtered_by_the_database(&called, &sent, want.len());
    });
}

#[test]
fn the_with_deleted_variants_show_deleted_members_too() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let app = db.app_pool();
        let gone = club.last();
        let called =
            format!("find_with_deleted(&pool, {}) for a member deleted at {}", gone.id, show_time(gone.deleted_at));
        let got = find_with_deleted(app, gone.id).await.unwrap_or_else(|e| err(&called, e));
        expect_member(&called, got.as_ref(), Some(gone));
        let called = format!("find_with_deleted(&pool, {})", club.unknown_id());
        let got = find_with_deleted(app, club.unknown_id()).await.unwrap_or_else(|e| err(&called, e));
        expect_member(&called, got.as_ref(), None);
        let got = list_with_deleted(app).await.unwrap_or_else(|e| err("list_with_deleted(&pool)", e));
        expect_members(&format!("list_with_deleted(&pool) over {}", club.summary()), &got, &club.all());
    });
}

// ---------------------------------------------------------------------------
// Delete, restore, force delete
// ---------------------------------------------------------------------------

#[test]
fn delete_sets_deleted_at_and_keeps_the_row() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let victim = club.some_live();
        let before = db_now(&db).await;
        let called = format!("delete(&pool, {}) for a live member", victim.id);
        let (got, sent) = db.wire().during(delete(db.app_pool(), victim.id)).await;
        let after = db_now(&db).await;
        match got {
            Ok(true) => {}
            other => Failure::new(&called).expected("Ok(true)").got(format!("{other:?}")).sent(&sent).fail(),
        }
        let Some(row) = member_row(&db, victim.id).await else {
            Failure::new(&called)
                .expected("the row kept, with deleted_at set")
                .got("the row is gone from the table: that is a hard delete")
                .hint("A soft delete is an UPDATE: SET deleted_at = now(). DELETE FROM is force_delete's job.")
                .sent(&sent)
                .fail()
        };
        let at_now = row.deleted_at.is_some_and(|t| t >= before && t <= after);
        if !at_now || (Member { deleted_at: None, ..row.clone() }) != *victim {
            Failure::new(&called)
                .expected(format!(
                    "the row unchanged but for deleted_at, set to the database's now() (between {} and {})",
                    show_time(Some(before)),
                    show_time(Some(after))
                ))
                .got(format!("{row:?}"))
                .hint("delete marks the row and keeps it: deleted_at gets the time of the delete from the database's clock, and a member already deleted keeps the time it had (book/src/soft_delete/index.md#a-row-that-says-when-it-was-deleted).")
                .sent(&sent)
                .fail();
        }
        if let Some(seen) = find(db.app_pool(), victim.id).await.unwrap_or_else(|e| err("find", e)) {
            Failure::new(format!("find(&pool, {}) after deleting them", victim.id))
                .expected("Ok(None)")
                .got(format!("Ok(Some({seen:?}))"))
                .fail();
        }
        let kept = history_of(&db, victim.id).await;
        if kept != club.history_of(victim.id) {
            Failure::new(&called)
                .expected("their addresses and orders untouched: a soft delete keeps everything")
                .got(kept)
                .fail();
        }
    });
}

#[test]
fn deleting_a_deleted_or_unknown_member_changes_nothing() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let gone = club.first();
        let called =
            format!("delete(&pool, {}) for a member already deleted at {}", gone.id, show_time(gone.deleted_at));
        let (got, sent) = db.wire().during(delete(db.app_pool(), gone.id)).await;
        let row = member_row(&db, gone.id).await;
        match got {
            Ok(false) if row.as_ref() == Some(gone) => {}
            Ok(false) | Ok(true) if row.as_ref().is_some_and(|r| r.deleted_at != gone.deleted_at) => Failure::new(&called)
                .expected(format!("Ok(false), and deleted_at kept at {}", show_time(gone.deleted_at)))
                .got(format!("{got:?}, and deleted_at moved to {}", show_time(row.and_then(|r| r.deleted_at))))
                .hint("Only a live member can be deleted: add AND deleted_at IS NULL to the UPDATE, so the first deletion time survives.")
                .sent(&sent)
                .fail(),
            other => Failure::new(&called)
                .expected("Ok(false): there is no live member with that id, and the row stays as it was")
                .got(format!("{other:?}; the row is now {row:?}"))
                .hint("Return whether the UPDATE changed a row: rows_affected() == 1.")
                .sent(&sent)
                .fail(),
        }
        let unknown = club.unknown_id();
        match delete(db.app_pool(), unknown).await {
            Ok(false) => {}
            other => Failure::new(format!("delete(&pool, {unknown}), an id no member has"))
                .expected("Ok(false)")
                .got(format!("{other:?}"))
                .fail(),
        }
        let all = all_rows(&db).await;
        if all != club.all() {
            Failure::new("delete(..) of a deleted and of an unknown member")
                .expected("the members table as it was")
                .got(diff_members(&all, &club.all()))
                .fail();
        }
    });
}

#[test]
fn restore_brings_a_deleted_member_back() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let gone = club.only_deleted();
        let called = format!("restore(&pool, {}) for a member deleted at {}", gone.id, show_time(gone.deleted_at));
        let (got, sent) = db.wire().during(restore(db.app_pool(), gone.id)).await;
        let want = Member { deleted_at: None, ..gone.clone() };
        match got {
            Ok(Some(m)) if m == want => {}
            other => Failure::new(&called)
                .expected(format!("Ok(Some({want:?}))"))
                .got(format!("{other:?}"))
                .hint("Restoring is undoing the mark: the row is still there, so clear its deleted_at and hand back the member as it is now stored (book/src/soft_delete/index.md#restore-and-the-email-someone-took-meanwhile).")
                .sent(&sent)
                .fail(),
        }
        expect_member(
            &format!("the row of member {} after {called}", gone.id),
            member_row(&db, gone.id).await.as_ref(),
            Some(&want),
        );
        let seen = find(db.app_pool(), gone.id).await.unwrap_or_else(|e| err("find", e));
        expect_member(&format!("find(&pool, {}) after restoring them", gone.id), seen.as_ref(), Some(&want));
        let live = club.some_live();
        let called = format!("restore(&pool, {}) for a live member", live.id);
        match restore(db.app_pool(), live.id).await {
            Ok(Some(m)) if m == *live => {}
            other => Failure::new(&called)
                .expected(format!("Ok(Some({live:?})): restoring a live member changes nothing"))
                .got(format!("{other:?}"))
                .hint("Clear deleted_at WHERE id = $1, whether or not it is set, and return the row.")
                .fail(),
        }
        expect_member(
            &format!("the row of member {} after {called}", live.id),
            member_row(&db, live.id).await.as_ref(),
            Some(live),
        );
        let unknown = club.unknown_id();
        match restore(db.app_pool(), unknown).await {
            Ok(None) => {}
            other => Failure::new(format!("restore(&pool, {unknown}), an id no member has"))
                .expected("Ok(None)")
                .got(format!("{other:?}"))
                .fail(),
        }
    });
}

#[test]
fn restoring_a_member_whose_email_was_taken_fails_and_changes_nothing() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let twin = club.deleted_twin();
        let live = club.reregistered();
        let called = format!(
            "restore(&pool, {}): deleted member {} had {:?}, and live member {} registered it since",
            twin.id, twin.id, twin.email, live.id
        );
        let (got, sent) = db.wire().during(restore(db.app_pool(), twin.id)).await;
        let rows = all_rows(&db).await;
        let unchanged = rows == club.all();
        match got {
            Err(MemberError::EmailTaken(email)) if email == twin.email && unchanged => {}
            Err(MemberError::EmailTaken(email)) if email != twin.email => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?}))", twin.email))
                .got(format!("Err(EmailTaken({email:?}))"))
                .fail(),
            Err(MemberError::Database(e)) => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?})): the email belongs to a live member now", twin.email))
                .got(format!("Err(Database({e}))"))
                .hint("The UPDATE hits the partial unique index: turn SQLSTATE 23505 into MemberError::EmailTaken(the member's email).")
                .sent(&sent)
                .fail(),
            Ok(_) if !unchanged => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?})), and nothing changed", twin.email))
                .got(format!("{got:?}, and now two live members share the email:{}", diff_members(&rows, &club.all())))
                .hint("Nothing stopped it: only a unique index over live members' emails (WHERE deleted_at IS NULL) refuses the second live one.")
                .sent(&sent)
                .fail(),
            other => Failure::new(&called)
                .expected(format!("Err(EmailTaken({:?})), and the members table as it was", twin.email))
                .got(format!("{other:?}{}", if unchanged { String::new() } else { diff_members(&rows, &club.all()) }))
                .sent(&sent)
                .fail(),
        }
    });
}

#[test]
fn force_delete_removes_the_row_for_real() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        let app = db.app_pool();
        let live = club.with_history(false);
        let gone = club.with_history(true);
        for m in [live, gone] {
            let state = if m.deleted_at.is_some() { "a deleted member" } else { "a live member" };
            let called = format!("force_delete(&pool, {}) for {state}", m.id);
            let (got, sent) = db.wire().during(force_delete(app, m.id)).await;
            let row = member_row(&db, m.id).await;
            match got {
                Ok(true) if row.is_none() => {}
                other => Failure::new(&called)
                    .expected("Ok(true), and the row gone from the table")
                    .got(format!("{other:?}; the table holds {row:?}"))
                    .hint(if m.deleted_at.is_some() {
                        "force_delete ignores deleted_at: it removes the row whether or not it was soft-deleted (Sequelize's destroy({ force: true }))."
                    } else {
                        "A force delete is DELETE FROM members WHERE id = $1, not an UPDATE."
                    })
                    .sent(&sent)
                    .fail(),
            }
            let left: i64 = scalar(&db, "SELECT count(*) FROM addresses WHERE member_id = $1", m.id).await;
            if left > 0 {
                Failure::new(&called)
                    .expected("their addresses gone with the row (ON DELETE CASCADE)")
                    .got(format!("{left} addresses left"))
                    .fail();
            }
        }
        let unknown = club.unknown_id();
        match force_delete(app, unknown).await {
            Ok(false) => {}
            other => Failure::new(format!("force_delete(&pool, {unknown}), an id no member has"))
                .expected("Ok(false)")
                .got(format!("{other:?}"))
                .fail(),
        }
        let want: Vec<Member> = club.all().into_iter().filter(|m| m.id != live.id && m.id != gone.id).collect();
        let rows = all_rows(&db).await;
        if rows != want {
            Failure::new(format!("force_delete(..) of members {} and {}", live.id, gone.id))
                .expected("every other member kept as they were")
                .got(diff_members(&rows, &want))
                .fail();
        }
    });
}

// ---------------------------------------------------------------------------
// Purge: erasure on request, all or nothing
// ---------------------------------------------------------------------------

#[test]
fn purge_erases_the_member_and_every_trace_of_their_personal_data() {
    check(async |db| {
        let club = Club::new_in(&db).await;
        for deleted in [false, true] {
            let victim = club.with_history(deleted);
            let state = if deleted { "a soft-deleted member" } else { "a live member" };
            let orders = club.orders_of(victim.id);
            let called = format!(
                "purge(&pool, {}) for {state} with {} addresses and {} orders",
                victim.id,
                club.addresses_of(victim.id).len(),
                orders.len()
            );
            let (got, sent) = db.wire().during(purge(db.app_pool(), victim.id)).await;
            match got {
                Ok(true) => {}
                other => Failure::new(&called).expected("Ok(true)").got(format!("{other:?}")).sent(&sent).fail(),
            }
            if let Err(why) = atomic(&sent, true) {
                Failure::new(&called)
                    .expected("every statement of the purge in one transaction on one connection, committed")
                    .got(why)
                    .hint("let mut tx = pool.begin().await?; run every statement on &mut *tx; then tx.commit().await?.")
                    .sent(&sent)
                    .fail();
            }
            let traces = traces_of(&db, &club.personal_data_of(victim.id)).await;
            if !traces.is_empty() {
                Failure::new(&called)
                    .expected("no trace of their email, name or addresses left in any table")
                    .got(format!("still there:{}", indent(&traces)))
                    .hint(
                        "Soft deletes keep everything, and deleting the member row leaves the copies in orders. \
                         Set ship_name and ship_address to NULL on their orders FIRST: once the member row is \
                         gone, ON DELETE SET NULL has cut the link and you can no longer find them.",
                    )
                    .sent(&sent)
                    .fail();
            }
            let kept: Vec<(i64, i64)> =
                sqlx::query_as("SELECT id, total_cents FROM orders WHERE id = ANY($1) ORDER BY id")
                    .bind(orders.iter().map(|o| o.id).collect::<Vec<_>>())
                    .fetch_all(db.pool())
                    .await
                    .unwrap_or_else(|e| query_failed("reading orders", e));
            let want: Vec<(i64, i64)> = orders.iter().map(|o| (o.id, o.total_cents)).collect();
            if kept != want {
                Failure::new(&called)
                    .expected(format!("their {} orders kept for the accounts (id, total): {want:?}", want.len()))
                    .got(format!("{kept:?}"))
                    .hint("Erase the personal data in orders (UPDATE ... SET ship_name = NULL, ship_address = NULL); do not delete the orders.")
                    .fail();
            }
        }
        let unknown = club.unknown_id();
        match purge(db.app_pool(), unknown).await {
            Ok(false) => {}
            other => Failure::new(format!("purge(&pool, {unknown}), an id no member has"))
                .expected("Ok(false)")
                .got(format!("{other:?}"))
                .fail(),
        }
        // Everyone else's data is untouched.
        let victims = [club.with_history(false).id, club.with_history(true).id];
        for m in club.members.iter().filter(|m| !victims.contains(&m.id)) {
            if history_of(&db, m.id).await != club.history_of(m.id) || member_row(&db, m.id).await.as_ref() != Some(m) {
                Failure::new(format!("purge(&pool, ..) of members {victims:?}"))
                    .expected(format!("member {} and their addresses and orders untouched", m.id))
                    .got(history_of(&db, m.id).await)
                    .hint("Every statement of the purge needs WHERE member_id = $1 (or id = $1).")
                    .fail();
            }
        }
    });
}

#[test]
fn purge_is_all_or_nothing_when_a_step_fails() {
    check(async |db| {
        let mut club = Club::generate();
        // One victim per table; the check makes the purge's step on that
        // table fail for that victim only, whatever order the steps run in.
        let tables = ["orders", "addresses", "members"];
        let victims: Vec<i64> = (0..tables.len()).map(|i| club.give_history(i + 2)).collect();
        club.insert(&db).await;
        sabotage(&db, &tables, &victims).await;
        for (table, &victim) in tables.iter().zip(&victims) {
            let before = history_of(&db, victim).await;
            let row = member_row(&db, victim).await;
            let called = format!("purge(&pool, {victim}) while the check makes every write to {table} for them fail");
            let (got, sent) = db.wire().during(purge(db.app_pool(), victim)).await;
            if got.is_ok() {
                Failure::new(&called)
                    .expected("Err(..): a step of the purge failed")
                    .got(format!("{got:?}"))
                    .hint("Pass every error on with ?: a purge that reports success after a failed step lies about what it erased.")
                    .sent(&sent)
                    .fail();
            }
            let after = history_of(&db, victim).await;
            let row_after = member_row(&db, victim).await;
            if after != before || row_after != row {
                Failure::new(&called)
                    .expected("nothing erased: the member, their addresses and their orders exactly as before")
                    .got(format!("half-erased. before: {}\n          after:  {}", before, after))
                    .hint(
                        "The steps that ran before the failure were committed one by one. Run them all inside \
                         one transaction (pool.begin(), every query on &mut *tx, then commit): when a step \
                         fails, the transaction rolls back and nothing is half-erased.",
                    )
                    .sent(&sent)
                    .fail();
            }
            if let Err(why) = atomic(&sent, false) {
                Failure::new(&called)
                    .expected("every statement of the purge in one transaction on one connection")
                    .got(why)
                    .hint("Run every statement on the transaction (&mut *tx), none on the pool.")
                    .sent(&sent)
                    .fail();
            }
        }
    });
}

// ---------------------------------------------------------------------------
// The club: generated data
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct Address {
    id: i64,
    member_id: i64,
    street: String,
    city: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Order {
    id: i64,
    member_id: i64,
    total_cents: i64,
    ship_name: String,
    ship_address: String,
}

struct Club {
    /// By id.
    members: Vec<Member>,
    addresses: Vec<Address>,
    orders: Vec<Order>,
    /// The city `members_in_city` is asked about.
    city: String,
    /// Indexes into `members` of the planted traps.
    only_deleted: usize,
    twin: usize,
    reregistered: usize,
    cheap_live: usize,
}

impl Club {
    async fn new_in(db: &Db) -> Club {
        let club = Club::generate();
        club.insert(db).await;
        club
    }

    /// 14 to 25 members: the first and last by id deleted, a third of the
    /// rest too; member 0 had an email nobody else has, member 1's email was
    /// registered again by a live member further on.
    fn generate() -> Club {
        let n = data::int(14..26) as usize;
        let mut ids = Ids::new();
        let mut names = BTreeSet::new();
        let now = Utc::now().timestamp();
        let mut members: Vec<Member> = (0..n)
            .map(|i| {
                let name = loop {
                    let name = data::name();
                    if names.insert(name.clone()) {
                        break name;
                    }
                };
                let joined = now - data::int(400..900) * 86_400 + data::int(0..86_400);
                let deleted = i == 0 || i == 1 || i == n - 1 || (i > 5 && data::int(0..3) == 0);
                Member {
                    id: ids.next(),
                    email: data::email(),
                    name,
                    joined_at: at(joined),
                    deleted_at: deleted.then(|| at(joined + data::int(1..300) * 86_400)),
                }
            })
            .collect();
        let reregistered = n - 2;
        members[reregistered].email = members[1].email.clone();
        members[reregistered].deleted_at = None;

        let cities: Vec<String> = (0..3).map(|_| capitalised(8)).collect();
        let mut club = Club {
            members,
            addresses: Vec::new(),
            orders: Vec::new(),
            city: cities[0].clone(),
            only_deleted: 0,
            twin: 1,
            reregistered,
            cheap_live: 2,
        };
        let mut address_ids = Ids::new();
        let mut order_ids = Ids::new();
        for i in 0..n {
            let member_id = club.members[i].id;
            for _ in 0..data::int(0..3) {
                // Never the planted city by chance: the check plants it.
                let city = cities[data::int(1..3) as usize].clone();
                club.addresses.push(Address { id: address_ids.next(), member_id, street: street(), city });
            }
            for _ in 0..data::int(0..3) {
                club.add_order(i, &mut order_ids);
            }
        }
        // The city: a live member with two addresses there, another live one
        // with one, a deleted member with one.
        let live: Vec<usize> = (2..n).filter(|&i| club.members[i].deleted_at.is_none()).collect();
        let dead: Vec<usize> = (2..n).filter(|&i| club.members[i].deleted_at.is_some()).collect();
        let city = club.city.clone();
        for (i, times) in [(live[0], 2), (*live.last().expect("live members"), 1), (dead[0], 1)] {
            for _ in 0..times {
                let member_id = club.members[i].id;
                club.addresses.push(Address {
                    id: address_ids.next(),
                    member_id,
                    street: street(),
                    city: city.clone(),
                });
            }
        }
        club.addresses.sort_by_key(|a| a.id);
        // A live member and a deleted one with addresses and orders, for
        // the checks that erase a history.
        club.give_history(live[1]);
        club.give_history(n - 1);
        club
    }

    fn add_order(&mut self, i: usize, ids: &mut Ids) {
        let m = &self.members[i];
        let ship_address = self
            .addresses
            .iter()
            .find(|a| a.member_id == m.id)
            .map(|a| format!("{}, {}", a.street, a.city))
            .unwrap_or_else(|| format!("{}, {}", street(), capitalised(7)));
        self.orders.push(Order {
            id: ids.next(),
            member_id: m.id,
            total_cents: data::int(500..90_000),
            ship_name: m.name.clone(),
            ship_address,
        });
    }

    /// Gives a member (by index, deleted or not) two more addresses and two
    /// more orders; returns their id.
    fn give_history(&mut self, i: usize) -> i64 {
        let id = self.members[i].id;
        let mut address_ids = Ids(self.addresses.iter().map(|a| a.id).max().unwrap_or(0));
        let mut order_ids = Ids(self.orders.iter().map(|o| o.id).max().unwrap_or(0));
        for _ in 0..2 {
            self.addresses.push(Address {
                id: address_ids.next(),
                member_id: id,
                street: street(),
                city: capitalised(6),
            });
        }
        for _ in 0..2 {
            self.add_order(i, &mut order_ids);
        }
        id
    }

    async fn insert(&self, db: &Db) {
        let pool = db.pool();
        let run = async |what: &str, q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>| {
            if let Err(e) = q.execute(pool).await {
                if e.to_string().contains("column \"deleted_at\"") {
                    Failure::new(format!("inserting the check's sample {what}, deleted members among them"))
                        .expected("a deleted_at column in members to say when each was deleted")
                        .got("members has no column deleted_at")
                        .hint(
                            "Start with the migration: add `deleted_at timestamptz` to members in \
                             migrations/0001_members.up.sql (the first TODO). Every check needs it.",
                        )
                        .fail();
                }
                if let sqlx::Error::Database(d) = &e
                    && d.code().as_deref() == Some("23505")
                {
                    Failure::new(format!("inserting the check's sample {what}"))
                        .expected(
                            "the table to take a deleted member and a live member with the same email: the sample \
                             has a pair, as every table with soft deletes soon does",
                        )
                        .got(d.message().to_owned())
                        .hint(format!(
                            "{} counts deleted rows too, so a deleted member blocks their email for ever. \
                             Uniqueness should cover live rows only, which a partial index can say \
                             (book/src/soft_delete/index.md#unique-among-the-living).",
                            d.constraint().unwrap_or("a unique constraint on email")
                        ))
                        .fail();
                }
                Failure::new(format!("inserting the check's sample {what}"))
                    .expected("the insert to succeed on the schema in migrations/0001_members.up.sql")
                    .got(e.to_string())
                    .hint("Keep the tables and columns as the starter gives them.")
                    .fail();
            }
        };
        migrate(db).await;
        let m = &self.members;
        run(
            "members",
            sqlx::query(
                "INSERT INTO members (id, email, name, joined_at, deleted_at) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])",
            )
            .bind(m.iter().map(|m| m.id).collect::<Vec<_>>())
            .bind(m.iter().map(|m| m.email.clone()).collect::<Vec<_>>())
            .bind(m.iter().map(|m| m.name.clone()).collect::<Vec<_>>())
            .bind(m.iter().map(|m| m.joined_at).collect::<Vec<_>>())
            .bind(m.iter().map(|m| m.deleted_at).collect::<Vec<_>>()),
        )
        .await;
        let a = &self.addresses;
        run(
            "addresses",
            sqlx::query(
                "INSERT INTO addresses (id, member_id, street, city) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[])",
            )
            .bind(a.iter().map(|a| a.id).collect::<Vec<_>>())
            .bind(a.iter().map(|a| a.member_id).collect::<Vec<_>>())
            .bind(a.iter().map(|a| a.street.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|a| a.city.clone()).collect::<Vec<_>>()),
        )
        .await;
        let o = &self.orders;
        run(
            "orders",
            sqlx::query(
                "INSERT INTO orders (id, member_id, total_cents, ship_name, ship_address) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])",
            )
            .bind(o.iter().map(|o| o.id).collect::<Vec<_>>())
            .bind(o.iter().map(|o| o.member_id).collect::<Vec<_>>())
            .bind(o.iter().map(|o| o.total_cents).collect::<Vec<_>>())
            .bind(o.iter().map(|o| o.ship_name.clone()).collect::<Vec<_>>())
            .bind(o.iter().map(|o| o.ship_address.clone()).collect::<Vec<_>>()),
        )
        .await;
        // Ids were given: move the identities past them, or the next
        // register() would collide with a sample member.
        let sync = "SELECT setval(pg_get_serial_sequence('members', 'id'), (SELECT max(id) FROM members));
                    SELECT setval(pg_get_serial_sequence('addresses', 'id'), (SELECT max(id) FROM addresses));
                    SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));";
        if let Err(e) = sqlx::raw_sql(sync).execute(pool).await {
            query_failed("moving the identity sequences past the sample ids", e);
        }
    }

    fn all(&self) -> Vec<Member> {
        self.members.clone()
    }

    fn live(&self) -> Vec<Member> {
        self.members.iter().filter(|m| m.deleted_at.is_none()).cloned().collect()
    }

    fn live_in(&self, city: &str) -> Vec<Member> {
        self.live()
            .into_iter()
            .filter(|m| self.addresses.iter().any(|a| a.member_id == m.id && a.city == city))
            .collect()
    }

    fn summary(&self) -> String {
        format!("{} members, {} of them deleted", self.members.len(), self.members.len() - self.live().len())
    }

    fn first(&self) -> &Member {
        &self.members[0]
    }

    fn last(&self) -> &Member {
        self.members.last().expect("members")
    }

    fn only_deleted(&self) -> &Member {
        &self.members[self.only_deleted]
    }

    fn deleted_twin(&self) -> &Member {
        &self.members[self.twin]
    }

    fn reregistered(&self) -> &Member {
        &self.members[self.reregistered]
    }

    /// A live member other than the planted ones.
    fn some_live(&self) -> &Member {
        let mut live = (self.cheap_live..self.members.len())
            .filter(|&i| i != self.reregistered && self.members[i].deleted_at.is_none());
        &self.members[live.next().expect("live members")]
    }

    /// A member with addresses and at least one order: the first live
    /// (or the first deleted, past the planted ones) who has both.
    fn with_history(&self, deleted: bool) -> &Member {
        self.members
            .iter()
            .enumerate()
            .skip(2)
            .filter(|(i, m)| *i != self.reregistered && m.deleted_at.is_some() == deleted)
            .map(|(_, m)| m)
            .find(|m| !self.addresses_of(m.id).is_empty() && !self.orders_of(m.id).is_empty())
            .expect("members with a history: generate() plants them")
    }

    fn addresses_of(&self, id: i64) -> Vec<&Address> {
        self.addresses.iter().filter(|a| a.member_id == id).collect()
    }

    fn orders_of(&self, id: i64) -> Vec<&Order> {
        self.orders.iter().filter(|o| o.member_id == id).collect()
    }

    /// What `history_of` reads back for a member the check left alone.
    fn history_of(&self, id: i64) -> String {
        let addresses: Vec<String> =
            self.addresses_of(id).iter().map(|a| format!("{}:{}:{}", a.id, a.street, a.city)).collect();
        let orders: Vec<String> = self
            .orders_of(id)
            .iter()
            .map(|o| format!("{}:{}:{}:{}", o.id, o.total_cents, o.ship_name, o.ship_address))
            .collect();
        format!("addresses [{}], orders [{}]", addresses.join(", "), orders.join(", "))
    }

    /// The member's email, name and every street they gave.
    fn personal_data_of(&self, id: i64) -> Vec<String> {
        let m = self.members.iter().find(|m| m.id == id).expect("a member of the club");
        let mut out = vec![m.email.clone(), m.name.clone()];
        out.extend(self.addresses_of(id).iter().map(|a| a.street.clone()));
        out.extend(self.orders_of(id).iter().map(|o| o.ship_address.clone()));
        out
    }

    fn unknown_id(&self) -> i64 {
        self.members.last().map_or(1, |m| m.id) + data::int(50..500)
    }
}

/// Makes every write to `tables[i]` for member `victims[i]` fail, whatever
/// statement (or cascade) does it.
async fn sabotage(db: &Db, tables: &[&str], victims: &[i64]) {
    let mut sql = String::from(
        "CREATE TABLE sabotage (tbl text, member_id bigint);
         CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF EXISTS (SELECT 1 FROM sabotage s WHERE s.tbl = TG_TABLE_NAME AND s.member_id =
                        (to_jsonb(OLD) ->> CASE TG_TABLE_NAME WHEN 'members' THEN 'id' ELSE 'member_id' END)::bigint)
             THEN
                 RAISE EXCEPTION 'the check made this write fail: % of a row of member % in %',
                     TG_OP, (to_jsonb(OLD) ->> CASE TG_TABLE_NAME WHEN 'members' THEN 'id' ELSE 'member_id' END),
                     TG_TABLE_NAME;
             END IF;
             RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
         END $$;",
    );
    for (t, v) in tables.iter().zip(victims) {
        sql.push_str(&format!(
            "INSERT INTO sabotage VALUES ('{t}', {v});
             CREATE TRIGGER sabotage BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION sabotage();"
        ));
    }
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(db.pool()).await {
        query_failed("installing the check's failing triggers", e);
    }
}

/// Ok when what was sent is one statement (atomic by itself), or every
/// statement ran inside one transaction block on one connection (and, with
/// `committed`, that block committed).
fn atomic(sent: &Traffic, committed: bool) -> Result<(), String> {
    if sent.len() == 1 {
        return Ok(());
    }
    let queries = sent.queries();
    if committed {
        // A statement sent on the pool after COMMIT lands on whichever
        // connection the pool hands out: the one the transaction just gave
        // back, or another. Say what happened whichever it is.
        let commit = sent.all().iter().find(|s| s.verb() == "COMMIT").map(|s| s.seq);
        let late = commit.and_then(|c| queries.iter().find(|s| !s.inside_transaction() && s.seq > c));
        if let Some(late) = late {
            return Err(format!(
                "`{}` ran after the COMMIT, outside the transaction: it went through the pool, not through the \
                 transaction, so it was not part of it",
                late.sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        return sent.in_one_transaction();
    }
    if let Some(outside) = queries.iter().find(|s| !s.inside_transaction()) {
        return Err(format!(
            "`{}` ran outside any transaction",
            outside.sql.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    if sent.connections_used().len() > 1 {
        return Err(format!("the statements ran on {} connections", sent.connections_used().len()));
    }
    let blocks = sent.transactions().iter().filter(|t| !t.statements.is_empty()).count();
    if blocks > 1 {
        return Err(format!("the statements were split over {blocks} transactions"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading the database back
// ---------------------------------------------------------------------------

async fn migrate(db: &Db) {
    db.migrate(workbook::exercise::path("migrations")).await;
}

/// A members row as the check reads it, independent of how `Member` reads
/// itself.
type MemberRow = (i64, String, String, DateTime<Utc>, Option<DateTime<Utc>>);

async fn member_row(db: &Db, id: i64) -> Option<Member> {
    let sql = "SELECT id, email, name, joined_at, deleted_at FROM members WHERE id = $1";
    let row: Option<MemberRow> =
        sqlx::query_as(sql).bind(id).fetch_optional(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e));
    row.map(|(id, email, name, joined_at, deleted_at)| Member { id, email, name, joined_at, deleted_at })
}

async fn all_rows(db: &Db) -> Vec<Member> {
    let sql = "SELECT id, email, name, joined_at, deleted_at FROM members ORDER BY id";
    let rows: Vec<MemberRow> = sqlx::query_as(sql).fetch_all(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e));
    rows.into_iter()
        .map(|(id, email, name, joined_at, deleted_at)| Member { id, email, name, joined_at, deleted_at })
        .collect()
}

async fn rows_with_email(db: &Db, email: &str) -> i64 {
    scalar(db, "SELECT count(*) FROM members WHERE email = $1", email.to_owned()).await
}

/// A member's addresses and orders, in the shape `Club::history_of` gives.
async fn history_of(db: &Db, id: i64) -> String {
    let sql = "SELECT 'addresses [' || coalesce((SELECT string_agg(a.id || ':' || a.street || ':' || a.city, ', ' ORDER BY a.id)
                                                FROM addresses a WHERE a.member_id = $1), '')
                  || '], orders [' || coalesce((SELECT string_agg(o.id || ':' || o.total_cents || ':' || coalesce(o.ship_name, 'NULL')
                                                                  || ':' || coalesce(o.ship_address, 'NULL'), ', ' ORDER BY o.id)
                                                FROM orders o WHERE o.member_id = $1), '') || ']'";
    sqlx::query_scalar(sql).bind(id).fetch_one(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

/// Where any of `needles` still appears in any table of the schema, as
/// `table: needle`.
async fn traces_of(db: &Db, needles: &[String]) -> Vec<String> {
    let tables = catalog::tables(db.pool()).await.unwrap_or_else(|e| query_failed("listing tables", e));
    let mut found = Vec::new();
    for table in tables.iter().filter(|t| !t.starts_with("_sqlx")) {
        let sql = format!(
            r#"SELECT n FROM unnest($1::text[]) AS n WHERE EXISTS (SELECT 1 FROM "{}" t WHERE strpos(t::text, n) > 0)"#,
            table.replace('"', "\"\"")
        );
        let hits: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(needles)
            .fetch_all(db.pool())
            .await
            .unwrap_or_else(|e| query_failed("scanning the tables for personal data", e));
        found.extend(hits.into_iter().map(|h| format!("{table}: {h:?}")));
    }
    found
}

async fn db_now(db: &Db) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| query_failed("clock", e))
}

async fn scalar<T>(db: &Db, sql: &'static str, arg: T) -> i64
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    sqlx::query_scalar(sql).bind(arg).fetch_one(db.pool()).await.unwrap_or_else(|e| query_failed(sql, e))
}

// ---------------------------------------------------------------------------
// Comparing and showing
// ---------------------------------------------------------------------------

#[track_caller]
fn expect_member(called: &str, got: Option<&Member>, want: Option<&Member>) {
    if got != want {
        let hint = match (got, want) {
            (Some(g), None) if g.deleted_at.is_some() => {
                "That member is deleted: ordinary reads filter on deleted_at IS NULL."
            }
            (Some(g), Some(w)) if g.id != w.id && g.deleted_at.is_some() => {
                "That is the deleted member who had the email first: filter on deleted_at IS NULL."
            }
            _ => "Select the five columns of Member from the row, as stored.",
        };
        Failure::new(called).expected(format!("Ok({want:?})")).got(format!("Ok({got:?})")).hint(hint).fail();
    }
}

#[track_caller]
fn expect_members(called: &str, got: &[Member], want: &[Member]) {
    if got == want {
        return;
    }
    let leaked: Vec<i64> = got.iter().filter(|m| m.deleted_at.is_some()).map(|m| m.id).collect();
    let got_ids: Vec<i64> = got.iter().map(|m| m.id).collect();
    let want_ids: Vec<i64> = want.iter().map(|m| m.id).collect();
    let twice = got_ids.iter().enumerate().any(|(i, id)| got_ids[..i].contains(id));
    let hint = if !leaked.is_empty() {
        format!(
            "Deleted members {leaked:?} came back: every ordinary read filters on deleted_at IS NULL (book: Soft \
             deletes, \"The default scope\")."
        )
    } else if twice {
        "A member came back more than once: a JOIN gives one row per matching address. Ask with WHERE EXISTS \
         (SELECT 1 FROM addresses ...) instead."
            .to_owned()
    } else if got_ids.iter().collect::<BTreeSet<_>>() == want_ids.iter().collect::<BTreeSet<_>>() {
        "The right members in the wrong order: ORDER BY id.".to_owned()
    } else {
        "Compare the ids: which are missing, which should not be there?".to_owned()
    };
    Failure::new(called)
        .expected(format!("{} members, ids {}", want.len(), short_list(&want_ids)))
        .got(format!("{} members, ids {}{}", got.len(), short_list(&got_ids), diff_members(got, want)))
        .hint(hint)
        .fail();
}

/// The right answer, filtered in Rust, still sends the deleted rows over
/// the wire: the filter belongs in the SQL.
#[track_caller]
fn expect_filtered_by_the_database(called: &str, sent: &Traffic, live: usize) {
    if sent.rows_returned() > live as u64 {
        Failure::new(called)
            .expected(format!("{live} rows from the database: the live members only"))
            .got(format!("{} rows came back, filtered in Rust", sent.rows_returned()))
            .hint("Put `deleted_at IS NULL` in the query's WHERE: every deleted row you fetch and drop is traffic and work for nothing.")
            .sent(sent)
            .fail();
    }
}

/// The rows that differ, one per line.
fn diff_members(got: &[Member], want: &[Member]) -> String {
    let mut lines = Vec::new();
    for w in want {
        match got.iter().find(|g| g.id == w.id) {
            None => lines.push(format!("missing: {}", show(w))),
            Some(g) if g != w => lines.push(format!("was {}, now {}", show(w), show(g))),
            Some(_) => {}
        }
    }
    for g in got.iter().filter(|g| !want.iter().any(|w| w.id == g.id)) {
        lines.push(format!("not expected: {}", show(g)));
    }
    lines.truncate(8);
    indent(&lines)
}

fn show(m: &Member) -> String {
    match m.deleted_at {
        Some(t) => format!("#{} {} <{}> deleted {}", m.id, m.name, m.email, show_time(Some(t))),
        None => format!("#{} {} <{}> live", m.id, m.name, m.email),
    }
}

fn show_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "NULL".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

fn short_list(ids: &[i64]) -> String {
    if ids.len() <= 14 {
        return format!("{ids:?}");
    }
    let head: Vec<String> = ids[..14].iter().map(i64::to_string).collect();
    format!("[{}, … {} more]", head.join(", "), ids.len() - 14)
}

fn indent(lines: &[String]) -> String {
    lines.iter().map(|l| format!("\n    {l}")).collect()
}

/// `deleted_at IS NULL` however PostgreSQL parenthesised and spaced it.
fn normalise(predicate: &str) -> String {
    predicate.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect::<String>().to_lowercase()
}

fn err(called: &str, e: sqlx::Error) -> ! {
    Failure::new(called).expected("Ok(..)").got(format!("Err({e})")).fail()
}

fn query_failed(what: &str, e: sqlx::Error) -> ! {
    Failure::new(what.split_whitespace().collect::<Vec<_>>().join(" "))
        .expected("the check's own query to run")
        .got(e.to_string())
        .hint("The tables and columns come from migrations/0001_members.up.sql: keep the names the starter gives.")
        .fail()
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

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("a time in range")
}

fn capitalised(len: usize) -> String {
    let w = data::word(len);
    let mut c = w.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn street() -> String {
    format!("{} {} Street", data::int(1..300), capitalised(7))
}
