//! Runs the listings of the chapter "Raw SQL" against a live server: the
//! league table from its .sql file, the error a missing cast gives, a sort
//! chosen from a list, and what a bound value and a replaced one look like
//! on the wire (the chapter shows the checker's own printout of both).

use listings::raw_sql::{
    ListError, PlayerLine, Standing, players, points_of, points_of_replaced, standings, standings_uncast,
};
use sqlx::PgPool;
use workbook::check;

const CHAPTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/raw_sql/index.md");

/// Fails unless the chapter shows `text` word for word.
#[track_caller]
fn chapter_quotes(text: &str) {
    let chapter = std::fs::read_to_string(CHAPTER).expect("reading the raw SQL chapter");
    assert!(chapter.contains(text), "book/src/raw_sql/index.md should quote exactly:\n{text}");
}

async fn league(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE teams (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
         CREATE TABLE scores (
             id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             team_id bigint  NOT NULL REFERENCES teams (id),
             player  text    NOT NULL,
             season  integer NOT NULL,
             points  bigint  NOT NULL
         );
         INSERT INTO teams (name) VALUES ('Ravens'), ('Otters'), ('Herons'), ('Lynxes');
         INSERT INTO scores (team_id, player, season, points) VALUES
             (1, 'Ines', 2025, 30), (1, 'O''Brien', 2025, 12), (1, 'Kai', 2025, 12),
             (2, 'Mona', 2025, 36), (2, 'Lee', 2025, 14),
             (3, 'Pia', 2025, 54),
             (1, 'Ines', 2024, 99);",
    )
    .execute(pool)
    .await
    .expect("creating the league");
}

fn line(player: &str, points: i64) -> PlayerLine {
    PlayerLine { player: player.into(), points }
}

#[test]
fn the_league_table_shares_a_place_between_teams_level_on_points() {
    check(async |db| {
        let pool = db.pool();
        league(pool).await;
        let table = standings(pool, 2025).await.unwrap();
        let rows: Vec<(String, i64, i64)> = table.into_iter().map(|s: Standing| (s.name, s.points, s.place)).collect();
        let want = [("Herons", 54, 1), ("Ravens", 54, 1), ("Otters", 50, 3), ("Lynxes", 0, 4)];
        assert_eq!(rows, want.map(|(n, p, r)| (n.to_owned(), p, r)));
    });
}

#[test]
fn a_sum_without_its_cast_does_not_fit_an_i64() {
    check(async |db| {
        let pool = db.pool();
        league(pool).await;
        let err = standings_uncast(pool, 2025).await.unwrap_err();
        chapter_quotes(&err.to_string());
    });
}

#[test]
fn the_sort_comes_from_the_list_and_nothing_else() {
    check(async |db| {
        let pool = db.pool();
        league(pool).await;
        assert_eq!(
            players(pool, 1, 2025, "points", "desc").await.unwrap(),
            [line("Ines", 30), line("O'Brien", 12), line("Kai", 12)]
        );
        assert_eq!(
            players(pool, 1, 2025, "player", "asc").await.unwrap(),
            [line("Ines", 12 + 18), line("Kai", 12), line("O'Brien", 12)]
        );
        for (sort, direction, refused) in [
            ("points; DROP TABLE scores", "asc", "points; DROP TABLE scores"),
            ("id", "asc", "id"),
            ("points", "asc, (SELECT 1)", "asc, (SELECT 1)"),
        ] {
            let err = players(pool, 1, 2025, sort, direction).await.unwrap_err();
            assert!(matches!(&err, ListError::BadSort(v) if v == refused), "{err:?}");
        }
    });
}

#[test]
fn a_bound_value_travels_beside_the_sql_and_a_replaced_one_inside_it() {
    check(async |db| {
        league(db.pool()).await;
        let (bound, sent_bound) = db.wire().during(points_of(db.app_pool(), "O'Brien")).await;
        let (replaced, sent_replaced) = db.wire().during(points_of_replaced(db.app_pool(), "O'Brien")).await;
        assert_eq!(bound.unwrap(), Some(12));
        assert_eq!(replaced.unwrap(), Some(12));
        assert!(sent_bound.bound("O'Brien") && sent_bound.pasted("O'Brien").is_none());
        assert!(!sent_replaced.bound("O'Brien") && sent_replaced.pasted("O'Brien").is_some());
        chapter_quotes(&sent_bound.describe(3));
        chapter_quotes(&sent_replaced.describe(3));
    });
}
