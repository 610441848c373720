//! Drills 12 to 14 (book: queries/aggregates.md): count, avg, round,
//! GROUP BY and HAVING.

use std::collections::BTreeMap;

use workbook::rows::{Order, Param, Row};

use crate::dataset::Dataset;
use crate::drill::Drill;
use crate::filtering::table;

/// `round(x, 1)` of the exact fraction `num / den` (both positive), as
/// PostgreSQL prints a numeric: half away from zero.
pub fn round_tenths(num: i64, den: i64) -> String {
    let tenths = (20 * num + den) / (2 * den);
    format!("{}.{}", tenths / 10, tenths % 10)
}

pub fn course_summary(d: &Dataset) -> Drill {
    let roster: Vec<Option<i32>> = d.roster(d.course).map(|e| e.grade).collect();
    let enrolled = roster.len() as i64;
    let graded = roster.iter().flatten().count() as i64;
    let sum: i64 = roster.iter().flatten().map(|g| *g as i64).sum();
    let summary = |a: i64, b: i64, avg: String| -> Vec<Row> { vec![row![a, b, avg]] };
    let expected = table(&["enrolled", "graded", "average"], summary(enrolled, graded, round_tenths(sum, graded)));
    Drill::new("12_course_summary.sql", "aggregates.md#counting-rows-counting-values", expected, Order::Exact)
        .param(Param::new("bigint", d.course), "a course id")
        .trap(
            summary(graded, graded, round_tenths(sum, graded)),
            "enrolled is too small: count(grade) counts only rows whose grade is not NULL. count(*) counts rows.",
        )
        .trap(
            summary(enrolled, enrolled, round_tenths(sum, graded)),
            "graded counts the ungraded too: count(*) counts rows; count(grade) counts the grades that are there.",
        )
        .trap(
            summary(enrolled, graded, round_tenths(sum, enrolled)),
            "The average is too low: it counts the ungraded as zeros. avg(grade) skips NULLs by itself; don't \
             COALESCE them to 0.",
        )
        .trap(
            summary(enrolled, graded, (sum / graded).to_string()),
            "The average lost its fraction: an integer divided by an integer is an integer in SQL (7 / 2 is 3). \
             Use avg(grade), or divide a numeric: sum(grade)::numeric / count(grade).",
        )
        .trap(
            summary(enrolled, graded, (sum / enrolled).to_string()),
            "The average lost its fraction and counts the ungraded: avg(grade) does it right.",
        )
        .hint("count(*) AS enrolled, count(grade) AS graded, round(avg(grade), 1) AS average.")
}

pub fn cohort_sizes(d: &Dataset) -> Drill {
    let mut sizes: BTreeMap<Option<i64>, i64> = BTreeMap::new();
    for s in &d.students {
        *sizes.entry(s.cohort_id).or_default() += 1;
    }
    // NULL last, where ORDER BY cohort_id puts it.
    let mut groups: Vec<(Option<i64>, i64)> = sizes.into_iter().collect();
    groups.sort_by_key(|(c, _)| (c.is_none(), *c));
    let listed = |count_null: bool| -> Vec<Row> {
        groups.iter().map(|(c, n)| row![*c, if c.is_none() && !count_null { 0 } else { *n }]).collect()
    };
    let expected = table(&["cohort_id", "students"], listed(true));
    let without_null: Vec<Row> = listed(true).into_iter().filter(|r| r[0].is_some()).collect();
    Drill::new("13_cohort_sizes.sql", "aggregates.md#group-by", expected, Order::Exact)
        .trap(
            listed(false),
            "The NULL group says 0: count(cohort_id) counts only the rows where cohort_id is not NULL, which in \
             that group is none. count(*) counts the group's rows.",
        )
        .trap(
            without_null,
            "The students with no cohort are missing. GROUP BY puts all the NULLs in one group; keep it.",
        )
        .hint("GROUP BY cohort_id, count(*) AS students, ORDER BY cohort_id (NULL sorts last going up).")
}

pub fn busy_students(d: &Dataset) -> Drill {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for e in &d.enrollments {
        *counts.entry(e.student_id).or_default() += 1;
    }
    let listed = |keep: &dyn Fn(i64) -> bool| -> Vec<Row> {
        let mut v: Vec<(i64, i64)> = counts.iter().map(|(s, n)| (*s, *n)).filter(|(_, n)| keep(*n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().map(|(s, n)| row![s, n]).collect()
    };
    let m = d.min_courses;
    let expected = table(&["student_id", "courses"], listed(&|n| n >= m));
    Drill::new("14_busy_students.sql", "aggregates.md#having-filters-groups", expected, Order::Exact)
        .param(Param::new("bigint", m), "a number of courses")
        .trap(
            listed(&|_| true),
            "Students with fewer than $1 courses are in your result: keep only the groups with enough rows with \
             HAVING count(*) >= $1, after GROUP BY. (WHERE runs before the rows are grouped, so it cannot see a count.)",
        )
        .trap(listed(&|n| n > m), "Students with exactly $1 courses are missing: \"$1 or more\" is >= $1.")
        .hint("GROUP BY student_id HAVING count(*) >= $1 ORDER BY courses DESC, student_id.")
}
