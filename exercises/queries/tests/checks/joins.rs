//! Drills 15 to 21 (book: queries/joins.md): inner and outer joins, an
//! outer join turned inner by WHERE, count(DISTINCT), a self join,
//! anti-joins, and NOT IN meeting a NULL.

use std::collections::{BTreeMap, BTreeSet};

use workbook::rows::{Order, Param, Row};

use crate::dataset::{Dataset, Student};
use crate::drill::Drill;
use crate::filtering::table;

/// Students sorted by name, then id.
fn by_name<'a>(students: impl Iterator<Item = &'a Student>) -> Vec<&'a Student> {
    let mut v: Vec<&Student> = students.collect();
    v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    v
}

pub fn course_roster(d: &Dataset) -> Drill {
    let course = d.course_by_id(d.course);
    let enrolled: BTreeMap<i64, Option<i32>> = d.roster(d.course).map(|e| (e.student_id, e.grade)).collect();
    let rows: Vec<Row> = by_name(d.students.iter().filter(|s| enrolled.contains_key(&s.id)))
        .into_iter()
        .map(|s| row![s.id, s.name.as_str(), enrolled[&s.id]])
        .collect();
    let expected = table(&["student_id", "name", "grade"], rows);
    Drill::new("15_course_roster.sql", "joins.md#join-rows-that-belong-together", expected, Order::Exact)
        .param(Param::new("text", &course.code), "a course code")
        .trap(
            vec![],
            "No rows: check what each ON compares. A join matches a foreign key with the key it points at: \
             e.student_id = s.id, e.course_id = c.id; and the course is the one WHERE c.code = $1.",
        )
        .hint("FROM enrollments JOIN students ON ... JOIN courses ON ... WHERE code = $1 ORDER BY name, student id.")
}

pub fn course_headcount(d: &Dataset) -> Drill {
    let mut courses: Vec<_> = d.courses.iter().filter(|c| c.department == d.department).collect();
    courses.sort_by(|a, b| a.code.cmp(&b.code));
    let count = |id: i64| d.roster(id).count() as i64;
    let listed = |zero: Option<i64>| -> Vec<Row> {
        courses
            .iter()
            .filter_map(|c| match (count(c.id), zero) {
                (0, None) => None,
                (0, Some(z)) => Some(row![c.code.as_str(), z]),
                (n, _) => Some(row![c.code.as_str(), n]),
            })
            .collect()
    };
    let expected = table(&["code", "students"], listed(Some(0)));
    Drill::new("16_course_headcount.sql", "joins.md#left-join-keeps-the-rows-with-no-match", expected, Order::Exact)
        .param(Param::new("text", &d.department), "a department")
        .trap(
            listed(None),
            "The course nobody takes is missing: JOIN keeps only rows with a match on both sides. \
             courses LEFT JOIN enrollments keeps every course.",
        )
        .trap(
            listed(Some(1)),
            "The course nobody takes says 1: after a LEFT JOIN it still has one row (with NULLs for the \
             enrollment), and count(*) counts it. Count a column of enrollments instead: count(e.student_id).",
        )
        .hint("courses LEFT JOIN enrollments, GROUP BY the course, count(e.student_id) AS students, ORDER BY code.")
}

pub fn passed_counts(d: &Dataset) -> Drill {
    let students = by_name(d.students.iter().filter(|s| s.cohort_id == Some(d.cohort)));
    let passed = |s: &Student| d.enrollments.iter().filter(|e| e.student_id == s.id && e.grade >= Some(50)).count();
    let enrolled = |s: &Student| d.enrollments.iter().filter(|e| e.student_id == s.id).count();
    let listed = |count: &dyn Fn(&Student) -> Option<usize>| -> Vec<Row> {
        students.iter().filter_map(|s| count(s).map(|n| row![s.id, s.name.as_str(), n])).collect()
    };
    let expected = table(&["id", "name", "passed"], listed(&|s| Some(passed(s))));
    Drill::new("17_passed_counts.sql", "joins.md#a-where-that-undoes-the-left-join", expected, Order::Exact)
        .param(Param::new("bigint", d.cohort), "a cohort id")
        .trap(
            listed(&|s| Some(passed(s)).filter(|n| *n > 0)),
            "Students who passed nothing are missing. The LEFT JOIN kept them, with NULL for e.grade; then \
             WHERE e.grade >= 50 threw those rows away, since NULL >= 50 is not true. Move the condition into \
             the join: LEFT JOIN enrollments e ON e.student_id = s.id AND e.grade >= 50.",
        )
        .trap(
            listed(&|s| Some(passed(s).max(1))),
            "Students who passed nothing say 1: the LEFT JOIN gives them one row of NULLs, and count(*) counts \
             it. Count a column of enrollments: count(e.course_id).",
        )
        .trap(
            listed(&|s| Some(enrolled(s))),
            "Your counts are every enrollment, not the passed ones: only grades of 50 or more count.",
        )
        .hint(
            "students LEFT JOIN enrollments ON e.student_id = s.id AND e.grade >= 50, WHERE s.cohort_id = $1, \
             GROUP BY the student, count(e.course_id) AS passed.",
        )
}

pub fn department_reach(d: &Dataset) -> Drill {
    let departments: BTreeSet<&str> = d.courses.iter().map(|c| c.department.as_str()).collect();
    let in_dept = |dept: &str| -> Vec<i64> {
        d.enrollments.iter().filter(|e| d.course_by_id(e.course_id).department == dept).map(|e| e.student_id).collect()
    };
    let listed = |count: &dyn Fn(&[i64]) -> Option<usize>| -> Vec<Row> {
        departments.iter().filter_map(|dept| count(&in_dept(dept)).map(|n| row![*dept, n])).collect()
    };
    let distinct = |v: &[i64]| v.iter().collect::<BTreeSet<_>>().len();
    let expected = table(&["department", "students"], listed(&|v| Some(distinct(v))));
    Drill::new("18_department_reach.sql", "joins.md#count-each-student-once-distinct", expected, Order::Exact)
        .trap(
            listed(&|v| Some(v.len())),
            "A student in two courses of a department is counted twice: you counted enrollments. \
             count(DISTINCT e.student_id) counts each student once.",
        )
        .trap(
            listed(&|v| Some(distinct(v)).filter(|n| *n > 0)),
            "The department nobody takes is missing: courses LEFT JOIN enrollments keeps it, with 0.",
        )
        .trap(
            listed(&|v| Some(v.len().max(1))),
            "count(*) counts enrollments (and the row of NULLs of a department nobody takes): \
             count(DISTINCT e.student_id) counts students.",
        )
        .hint(
            "courses LEFT JOIN enrollments, GROUP BY department, count(DISTINCT e.student_id) AS students. \
             DISTINCT goes inside the count, not after SELECT.",
        )
}

pub fn mentors(d: &Dataset) -> Drill {
    let mentor = |s: &Student| s.mentor_id.map(|m| d.student(m).name.clone());
    let listed = |keep_unmentored: bool| -> Vec<Row> {
        by_name(d.students.iter())
            .into_iter()
            .filter(|s| keep_unmentored || s.mentor_id.is_some())
            .map(|s| row![s.id, s.name.as_str(), mentor(s)])
            .collect()
    };
    let expected = table(&["id", "name", "mentor"], listed(true));
    Drill::new("19_mentors.sql", "joins.md#a-table-joined-to-itself", expected, Order::Exact)
        .trap(
            listed(false),
            "Students without a mentor are missing: an inner join drops them. students s LEFT JOIN students m \
             ON m.id = s.mentor_id keeps them, with NULL for m.name.",
        )
        .hint("students s LEFT JOIN students m ON m.id = s.mentor_id, m.name AS mentor, ORDER BY s.name, s.id.")
}

pub fn never_enrolled(d: &Dataset) -> Drill {
    let mut students: Vec<&Student> = d.students.iter().collect();
    students.sort_by_key(|s| s.id);
    let expected = table(
        &["id", "name"],
        students
            .iter()
            .filter(|s| !d.enrollments.iter().any(|e| e.student_id == s.id))
            .map(|s| row![s.id, s.name.as_str()])
            .collect(),
    );
    // LEFT JOIN ... WHERE e.grade IS NULL: a row per ungraded enrollment too.
    let mut on_grade = Vec::new();
    for s in &students {
        let mine: Vec<_> = d.enrollments.iter().filter(|e| e.student_id == s.id).collect();
        if mine.is_empty() {
            on_grade.push(row![s.id, s.name.as_str()]);
        }
        for _ in mine.iter().filter(|e| e.grade.is_none()) {
            on_grade.push(row![s.id, s.name.as_str()]);
        }
    }
    Drill::new("20_never_enrolled.sql", "joins.md#which-have-none-not-exists", expected, Order::Exact)
        .trap(
            on_grade,
            "Students who are enrolled but not yet graded are in your result: e.grade IS NULL is also true for \
             a real enrollment with no grade. After a LEFT JOIN, test a column that is never NULL in a match \
             (e.student_id IS NULL), or say what you mean: WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE \
             e.student_id = s.id).",
        )
        .hint("WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.student_id = s.id) ORDER BY id.")
}

pub fn mentors_of_nobody(d: &Dataset) -> Drill {
    let mentors: BTreeSet<i64> = d.students.iter().filter_map(|s| s.mentor_id).collect();
    let mut students: Vec<&Student> = d.students.iter().filter(|s| !mentors.contains(&s.id)).collect();
    students.sort_by_key(|s| s.id);
    let expected = table(&["id", "name"], students.iter().map(|s| row![s.id, s.name.as_str()]).collect());
    Drill::new("21_mentors_of_nobody.sql", "joins.md#not-in-and-the-null-inside", expected, Order::Exact)
        .trap(
            vec![],
            "No rows: NOT IN (SELECT mentor_id FROM students) meets the NULL mentor_id of students who have no \
             mentor, and `id NOT IN (..., NULL)` is never true (id <> NULL is unknown). Use NOT EXISTS, which \
             asks a yes-or-no question per row.",
        )
        .hint("WHERE NOT EXISTS (SELECT 1 FROM students m WHERE m.mentor_id = s.id) ORDER BY id.")
}
