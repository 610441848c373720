//! Runs the listings of the chapter "CRUD: a student directory" against a
//! live server, including the injection the chapter warns about, and
//! proves the messages the chapter quotes are the ones the code produces.

use listings::crud::{
    CatalogError, NewCourse, SortBy, add_course, all_courses, course_by_code, course_by_code_pasted, courses_sorted,
    drop_small_courses, kind_of, lightest_course, offer_course, rename_course,
};
use sqlx::PgPool;
use workbook::check;

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/student_directory/index.md");

/// Fails unless the chapter shows `text` word for word.
#[track_caller]
fn chapter_quotes(text: &str) {
    let chapter = std::fs::read_to_string(CHAPTER).expect("reading the CRUD chapter");
    assert!(chapter.contains(text), "book/src/student_directory/index.md should quote exactly:\n{text}");
}

async fn catalogue(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE courses (
             id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             code       text NOT NULL UNIQUE,
             title      text NOT NULL,
             credits    integer NOT NULL,
             created_at timestamptz NOT NULL DEFAULT now(),
             updated_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .execute(pool)
    .await
    .expect("creating courses");
}

fn course(code: &str, title: &str, credits: i32) -> NewCourse {
    NewCourse { code: code.into(), title: title.into(), credits }
}

#[test]
fn create_read_update_delete_round_trip() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        let web = add_course(pool, &course("WEB201", "Web services", 5)).await.unwrap();
        let db101 = add_course(pool, &course("DB101", "Databases", 5)).await.unwrap();
        let lab = add_course(pool, &course("LAB100", "Lab safety", 1)).await.unwrap();
        assert!(web.id < db101.id && db101.id < lab.id, "ids come from the identity, in order");

        let codes: Vec<String> = all_courses(pool).await.unwrap().into_iter().map(|c| c.code).collect();
        assert_eq!(codes, ["DB101", "LAB100", "WEB201"], "ordered by code, not by id");
        assert_eq!(course_by_code(pool, "DB101").await.unwrap(), Some(db101.clone()));
        assert_eq!(course_by_code(pool, "NOPE").await.unwrap(), None);

        let renamed = rename_course(pool, db101.id, "Relational databases").await.unwrap().unwrap();
        assert_eq!(renamed.title, "Relational databases");
        assert_eq!(renamed.created_at, db101.created_at);
        assert!(renamed.updated_at > db101.updated_at, "updated_at moves on");
        assert_eq!(rename_course(pool, lab.id + 100, "x").await.unwrap(), None);

        assert_eq!(drop_small_courses(pool, 2).await.unwrap(), 1);
        assert_eq!(drop_small_courses(pool, 2).await.unwrap(), 0);
        assert_eq!(all_courses(pool).await.unwrap().len(), 2);
    });
}

#[test]
fn a_taken_code_is_a_variant_the_caller_can_match() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        add_course(pool, &course("DB101", "Databases", 5)).await.unwrap();
        let err = add_course(pool, &course("DB101", "Databases again", 5)).await.unwrap_err();
        assert!(matches!(err, CatalogError::CodeTaken(ref c) if c == "DB101"), "{err:?}");
        assert_eq!(err.to_string(), "course code DB101 is already in use");
        chapter_quotes("course code DB101 is already in use");

        assert_eq!(
            offer_course(pool, &course("DB101", "Databases", 5)).await,
            "DB101 exists already: pick another code"
        );
        assert!(
            offer_course(pool, &course("OS210", "Operating systems", 5)).await.starts_with("added OS210 as course #")
        );
        chapter_quotes("DB101 exists already: pick another code");

        // Any other failure stays a database error.
        pool.close().await;
        let err = add_course(pool, &course("NET301", "Networks", 5)).await.unwrap_err();
        assert!(matches!(err, CatalogError::Database(_)), "{err:?}");
    });
}

#[test]
fn pasted_values_break_and_leak_bound_ones_do_not() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        add_course(pool, &course("DB101", "Databases", 5)).await.unwrap();
        add_course(pool, &course("SEC400", "Secret research seminar", 10)).await.unwrap();

        let trick = "' OR '1'='1";
        chapter_quotes(trick);
        assert_eq!(course_by_code_pasted(pool, trick).await.unwrap().len(), 2, "the injection returns every row");
        assert_eq!(course_by_code(pool, trick).await.unwrap(), None, "bound, it is just a strange code");

        let err = course_by_code_pasted(pool, "O'NEIL1").await.unwrap_err();
        let CatalogError::Database(sqlx::Error::Database(pg)) = &err else { panic!("{err:?}") };
        assert_eq!(pg.message(), "syntax error at or near \"NEIL1\"");
        chapter_quotes("syntax error at or near \"NEIL1\"");
        assert_eq!(course_by_code(pool, "O'NEIL1").await.unwrap(), None);
    });
}

#[test]
fn fetch_one_takes_the_first_row_and_drops_the_rest() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        assert_eq!(lightest_course(pool).await.unwrap(), None, "no courses, no row");
        let empty = sqlx::query_scalar::<_, String>("SELECT code FROM courses").fetch_one(pool).await.unwrap_err();
        assert!(matches!(empty, sqlx::Error::RowNotFound), "{empty:?}");
        for (code, credits) in [("WEB201", 5), ("DB101", 5), ("LAB100", 1)] {
            add_course(pool, &course(code, code, credits)).await.unwrap();
        }
        // Three rows match; fetch_one neither fails nor says so.
        let first: String = sqlx::query_scalar("SELECT code FROM courses ORDER BY code").fetch_one(pool).await.unwrap();
        assert_eq!(first, "DB101");
        let first: String =
            sqlx::query_scalar("SELECT code FROM courses ORDER BY code DESC").fetch_one(pool).await.unwrap();
        assert_eq!(first, "WEB201", "the first row in the order the SQL gave");
        assert_eq!(lightest_course(pool).await.unwrap().map(|c| c.code).as_deref(), Some("LAB100"));
        chapter_quotes("takes the first row");
    });
}

#[test]
fn a_match_of_literals_is_static_sql() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        for (code, credits) in [("WEB201", 5), ("DB101", 6), ("LAB100", 1)] {
            add_course(pool, &course(code, code, credits)).await.unwrap();
        }
        let codes = |v: Vec<listings::crud::Course>| v.into_iter().map(|c| c.code).collect::<Vec<_>>();
        assert_eq!(codes(courses_sorted(pool, SortBy::Code).await.unwrap()), ["DB101", "LAB100", "WEB201"]);
        assert_eq!(codes(courses_sorted(pool, SortBy::Credits).await.unwrap()), ["LAB100", "WEB201", "DB101"]);
    });
}

#[test]
fn a_refused_statement_is_database_and_a_missing_server_is_not() {
    check(async |db| {
        let pool = db.pool();
        catalogue(pool).await;
        add_course(pool, &course("DB101", "Databases", 5)).await.unwrap();
        let taken = sqlx::query("INSERT INTO courses (code, title, credits) VALUES ('DB101', 'x', 1)")
            .execute(pool)
            .await
            .unwrap_err();
        let sqlx::Error::Database(refusal) = &taken else { panic!("{taken:?}") };
        assert_eq!(refusal.code().as_deref(), Some("23505"));
        assert!(refusal.is_unique_violation(), "sqlx's name for 23505");
        assert_eq!(kind_of(&taken), "refused by the server");
        let typo = sqlx::query("SELEC 1").execute(pool).await.unwrap_err();
        assert_eq!(kind_of(&typo), "refused by the server", "{typo:?}");
        let none = sqlx::query("SELECT 1 WHERE false").fetch_one(pool).await.unwrap_err();
        assert_eq!(kind_of(&none), "rows did not fit the code", "{none:?}");

        // A port nobody listens on: one connection fails with Io, a pool
        // keeps trying until its acquire_timeout and says PoolTimedOut.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("postgres://nobody@127.0.0.1:{port}/nothing");
        let refused = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap_err();
        assert!(matches!(refused, sqlx::Error::Io(_)), "{refused:?}");
        assert_eq!(kind_of(&refused), "server unreachable");
        let lazy = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(300))
            .connect_lazy(&url)
            .unwrap();
        let timed_out = sqlx::query("SELECT 1").execute(&lazy).await.unwrap_err();
        assert!(matches!(timed_out, sqlx::Error::PoolTimedOut), "{timed_out:?}");
        assert_eq!(kind_of(&timed_out), "server unreachable");
        pool.close().await;
        let closed = sqlx::query("SELECT 1").execute(pool).await.unwrap_err();
        assert!(matches!(closed, sqlx::Error::PoolClosed), "{closed:?}");
        assert_eq!(kind_of(&closed), "server unreachable");
    });
}
