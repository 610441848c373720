//! Drills 22 to 24 (book: queries/subqueries.md): a subquery as a value,
//! a correlated subquery, and a month of timestamps.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime};
use workbook::rows::{Order, Param, Row};

use crate::dataset::{Dataset, Enrollment, timestamptz};
use crate::drill::Drill;
use crate::filtering::table;

pub fn above_average(d: &Dataset) -> Drill {
    let mut roster: Vec<&Enrollment> = d.roster(d.course).collect();
    roster.sort_by(|a, b| b.grade.cmp(&a.grade).then(a.student_id.cmp(&b.student_id)));
    let above = |avg: f64| -> Vec<Row> {
        roster.iter().filter(|e| e.grade.is_some_and(|g| g as f64 > avg)).map(|e| row![e.student_id, e.grade]).collect()
    };
    let mean = |grades: &[i32], extra_zeros: usize| {
        grades.iter().map(|g| *g as f64).sum::<f64>() / (grades.len() + extra_zeros) as f64
    };
    let course: Vec<i32> = roster.iter().filter_map(|e| e.grade).collect();
    let ungraded = roster.len() - course.len();
    let everywhere: Vec<i32> = d.enrollments.iter().filter_map(|e| e.grade).collect();
    let expected = table(&["student_id", "grade"], above(mean(&course, 0)));
    Drill::new("22_above_average.sql", "subqueries.md#a-subquery-as-a-value", expected, Order::Exact)
        .param(Param::new("bigint", d.course), "a course id")
        .trap(
            above(mean(&everywhere, 0)),
            "Your average is every course's: the subquery needs its own WHERE course_id = $1.",
        )
        .trap(
            above(mean(&course, ungraded)),
            "Your average counts the ungraded as zeros, so it is too low: avg(grade) skips NULLs by itself.",
        )
        .hint(
            "WHERE course_id = $1 AND grade > (SELECT avg(grade) FROM enrollments WHERE course_id = $1), \
             ORDER BY grade DESC, student_id.",
        )
}

pub fn best_in_course(d: &Dataset) -> Drill {
    // Per course code: its best grade's enrollments, as (student_id, grade).
    type Best = Vec<(i64, i32)>;
    // Which of a course's best enrollments a (right or wrong) query keeps.
    type Pick<'a> = dyn Fn(&[(i64, i32)]) -> Best + 'a;
    let mut best: BTreeMap<&str, Best> = BTreeMap::new();
    for e in &d.enrollments {
        let Some(g) = e.grade else { continue };
        let code = d.course_by_id(e.course_id).code.as_str();
        let entry = best.entry(code).or_default();
        match entry.first().map(|(_, top)| *top) {
            Some(top) if g < top => {}
            Some(top) if g == top => entry.push((e.student_id, g)),
            _ => *entry = vec![(e.student_id, g)],
        }
    }
    for v in best.values_mut() {
        v.sort_unstable();
    }
    let listed = |pick: &Pick| -> Vec<Row> {
        best.iter().flat_map(|(code, v)| pick(v).into_iter().map(move |(s, g)| row![*code, s, g])).collect()
    };
    let expected = table(&["code", "student_id", "grade"], listed(&|v| v.to_vec()));
    let top = best.values().flatten().map(|(_, g)| *g).max().unwrap_or(0);
    Drill::new("23_best_in_course.sql", "subqueries.md#a-correlated-subquery", expected, Order::Exact)
        .trap(
            listed(&|v| v[..1].to_vec()),
            "Where two students share a course's best grade, one is missing. DISTINCT ON, or LIMIT 1, keeps one \
             row per course; compare every row with its course's best instead: \
             e.grade = (SELECT max(grade) FROM enrollments e2 WHERE e2.course_id = e.course_id).",
        )
        .trap(listed(&|v| v[v.len() - 1..].to_vec()), "Where two students share a course's best grade, one is missing.")
        .trap(
            listed(&|v| v.iter().copied().filter(|(_, g)| *g == top).collect()),
            "You compared with the best grade of all courses: the subquery must look at the row's own course \
             (WHERE e2.course_id = e.course_id).",
        )
        .hint(
            "A correlated subquery: WHERE e.grade = (SELECT max(e2.grade) FROM enrollments e2 WHERE e2.course_id = \
             e.course_id), then join courses for the code.",
        )
}

pub fn month_enrollments(d: &Dataset) -> Drill {
    let (first, next) = d.month();
    let mut all: Vec<&Enrollment> = d.enrollments.iter().collect();
    all.sort_by(|a, b| {
        a.enrolled_at.cmp(&b.enrolled_at).then(a.student_id.cmp(&b.student_id)).then(a.course_id.cmp(&b.course_id))
    });
    let listed = |keep: &dyn Fn(&NaiveDateTime) -> bool| -> Vec<Row> {
        all.iter()
            .filter(|e| keep(&e.enrolled_at))
            .map(|e| row![e.student_id, e.course_id, timestamptz(&e.enrolled_at)])
            .collect()
    };
    let last_midnight = next - chrono::Duration::days(1);
    let expected = table(&["student_id", "course_id", "enrolled_at"], listed(&|t| *t >= first && *t < next));
    Drill::new("24_month_enrollments.sql", "subqueries.md#dates-and-times", expected, Order::Exact)
        .param(Param::new("date", d.day), "a day of the month")
        .trap(
            listed(&|t| *t >= first && *t <= last_midnight),
            "The last day's enrollments after midnight are missing: BETWEEN '...-01' AND '...-31' stops at \
             00:00 on the 31st, since a date compared with a timestamp is its midnight. Use a half-open range: \
             enrolled_at >= the first AND enrolled_at < the first of the next month.",
        )
        .trap(
            listed(&|t| *t >= first && *t <= next),
            "An enrollment at midnight on the first of the next month is in your result: BETWEEN includes both \
             ends. Use enrolled_at < the first of the next month.",
        )
        .trap(
            listed(&|t| t.month() == first.month()),
            "Enrollments of the same month in other years are in your result: the month number alone is not a \
             month. Compare whole timestamps.",
        )
        .hint(
            "enrolled_at >= date_trunc('month', $1) AND enrolled_at < date_trunc('month', $1) + interval '1 month', \
             ORDER BY enrolled_at, student_id, course_id.",
        )
}
