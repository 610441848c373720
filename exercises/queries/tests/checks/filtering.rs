//! Drills 1 to 7 (book: queries/filtering.md): WHERE, NULL, COALESCE,
//! ILIKE, CASE and DISTINCT. Order never matters in these.

use workbook::rows::{Order, Param, Row, Table};

use crate::dataset::{Dataset, Student};
use crate::drill::Drill;

fn id_name(students: impl Iterator<Item = impl std::borrow::Borrow<Student>>) -> Vec<Row> {
    students.map(|s| row![s.borrow().id, s.borrow().name.as_str()]).collect()
}

pub fn department_courses(d: &Dataset) -> Drill {
    let answer = |keep: &dyn Fn(&crate::dataset::Course) -> bool| -> Vec<Row> {
        d.courses.iter().filter(|c| keep(c)).map(|c| row![c.code.as_str(), c.title.as_str(), c.credits]).collect()
    };
    let expected =
        table(&["code", "title", "credits"], answer(&|c| c.department == d.department && c.credits >= d.min_credits));
    Drill::new("01_department_courses.sql", "filtering.md#where-picks-the-rows", expected, Order::Any)
        .param(Param::new("text", &d.department), "a department")
        .param(Param::new("integer", d.min_credits), "credits")
        .trap(
            answer(&|c| c.department == d.department && c.credits > d.min_credits),
            "A course worth exactly $2 credits is missing: \"at least\" is >=, not >.",
        )
        .trap(
            answer(&|c| c.credits >= d.min_credits),
            "Courses of other departments are in your result: a row must pass both conditions, joined with AND.",
        )
        .hint("Two conditions, both required: department = $1 AND credits >= $2.")
}

pub fn missing_email(d: &Dataset) -> Drill {
    let expected = table(&["id", "name"], id_name(d.students.iter().filter(|s| s.email.is_none())));
    Drill::new("02_missing_email.sql", "filtering.md#null-is-not-a-value", expected, Order::Any)
        .trap(
            vec![],
            "No rows: `email = NULL` is never true, not even when email is NULL (it is NULL, \"unknown\"). \
             Ask with `email IS NULL`.",
        )
        .hint("The students to find are those whose email IS NULL.")
}

pub fn outside_cohort(d: &Dataset) -> Drill {
    let expected = table(&["id", "name"], id_name(d.students.iter().filter(|s| s.cohort_id != Some(d.cohort))));
    Drill::new("03_outside_cohort.sql", "filtering.md#three-valued-logic", expected, Order::Any)
        .param(Param::new("bigint", d.cohort), "a cohort id")
        .trap(
            id_name(d.students.iter().filter(|s| s.cohort_id.is_some_and(|c| c != d.cohort))),
            "The students with no cohort are missing: for them `cohort_id <> $1` is NULL, not true, and WHERE \
             keeps only rows where it is true. Add `OR cohort_id IS NULL`, or write `cohort_id IS DISTINCT FROM $1`.",
        )
        .hint("Every student except those in cohort $1, and that includes students whose cohort_id is NULL.")
}

pub fn contact(d: &Dataset) -> Drill {
    let answer = |pick: &dyn Fn(&Student) -> Option<String>| -> Vec<Row> {
        d.students.iter().map(|s| row![s.id, s.name.as_str(), pick(s)]).collect()
    };
    let expected = table(
        &["id", "name", "contact"],
        answer(&|s| s.email.clone().or(s.personal_email.clone()).or(Some("none".into()))),
    );
    Drill::new("04_contact.sql", "filtering.md#coalesce-a-value-for-null", expected, Order::Any)
        .trap(
            answer(&|s| s.email.clone().or(Some("none".into()))),
            "Students with only a personal address got 'none': COALESCE takes as many arguments as you like and \
             returns the first that is not NULL. Give it email, then personal_email, then 'none'.",
        )
        .trap(
            answer(&|s| s.personal_email.clone().or(s.email.clone()).or(Some("none".into()))),
            "Students with both addresses got the personal one: COALESCE returns the first non-NULL argument, \
             so the university email comes first.",
        )
        .trap(
            answer(&|s| s.email.clone().or(s.personal_email.clone())),
            "Students with no address at all got NULL: end the COALESCE with 'none'.",
        )
        .hint("COALESCE(email, personal_email, 'none') AS contact: the first argument that is not NULL.")
}

pub fn name_search(d: &Dataset) -> Drill {
    let f = d.fragment.as_str();
    let expected = table(&["id", "name"], id_name(d.students.iter().filter(|s| s.name.to_lowercase().contains(f))));
    Drill::new("05_name_search.sql", "filtering.md#like-and-ilike", expected, Order::Any)
        .param(Param::new("text", f), "a piece of a name")
        .trap(
            id_name(d.students.iter().filter(|s| s.name.contains(f))),
            "Names with the piece in capitals are missing: LIKE tells 'a' from 'A'; ILIKE does not.",
        )
        .trap(
            vec![],
            "No rows: without wildcards, ILIKE $1 finds only names that are exactly $1. Put % on both sides: \
             name ILIKE '%' || $1 || '%'.",
        )
        .hint("name ILIKE '%' || $1 || '%' finds $1 anywhere in the name, in any case.")
}

pub fn letter_grades(d: &Dataset) -> Drill {
    let answer = |letter: &dyn Fn(Option<i32>) -> &'static str| -> Vec<Row> {
        d.roster(d.course).map(|e| row![e.student_id, e.grade, letter(e.grade)]).collect()
    };
    let right = |g: Option<i32>| match g {
        None => "pending",
        Some(g) if g >= 90 => "A",
        Some(g) if g >= 80 => "B",
        Some(g) if g >= 70 => "C",
        Some(_) => "F",
    };
    let expected = table(&["student_id", "grade", "letter"], answer(&right));
    Drill::new("06_letter_grades.sql", "filtering.md#case-a-value-by-cases", expected, Order::Any)
        .param(Param::new("bigint", d.course), "a course id")
        .trap(
            answer(&|g| match g {
                None => "F",
                other => right(other),
            }),
            "Ungraded enrollments got 'F': a NULL grade fails every WHEN (grade >= 90 is NULL, not true) and \
             falls through to ELSE. Test it first: WHEN grade IS NULL THEN 'pending'.",
        )
        .trap(
            answer(&|g| match g {
                None => "pending",
                Some(g) if g > 90 => "A",
                Some(g) if g > 80 => "B",
                Some(g) if g > 70 => "C",
                Some(_) => "F",
            }),
            "Grades of exactly 90, 80 and 70 got the letter below: \"90 or more\" is >= 90.",
        )
        .hint(
            "One CASE, its WHENs tried in order: WHEN grade IS NULL THEN 'pending' WHEN grade >= 90 THEN 'A' ... \
             ELSE 'F' END AS letter.",
        )
}

pub fn cities(d: &Dataset) -> Drill {
    let mut known: Vec<&str> = d.students.iter().filter_map(|s| s.city.as_deref()).collect();
    let every: Vec<Row> = known.iter().map(|c| row![*c]).collect();
    known.sort_unstable();
    known.dedup();
    let expected = table(&["city"], known.iter().map(|c| row![*c]).collect());
    let mut with_null = expected.rows.clone();
    with_null.push(row![None::<String>]);
    Drill::new("07_cities.sql", "filtering.md#distinct-each-row-once", expected, Order::Any)
        .trap(every, "Cities appear once per student who lives there: SELECT DISTINCT city keeps each once.")
        .trap(
            with_null,
            "A NULL row is in your result: DISTINCT keeps NULL as one more value. Leave out the students \
             whose city is unknown with WHERE city IS NOT NULL.",
        )
        .hint("SELECT DISTINCT city, leaving out the NULLs.")
}

/// A table of rows under `columns`.
pub fn table(columns: &[&str], rows: Vec<Row>) -> Table {
    Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows }
}
