//! Drills 8 to 11 (book: queries/ordering.md): ORDER BY with ties and
//! NULLs, LIMIT and OFFSET, FETCH FIRST ... WITH TIES.

use std::cmp::Ordering;

use workbook::rows::{Order, Param, Row};

use crate::dataset::{Dataset, Enrollment, Student};
use crate::drill::Drill;
use crate::filtering::table;

fn by_name_then_id(a: &&Student, b: &&Student) -> Ordering {
    a.name.cmp(&b.name).then(a.id.cmp(&b.id))
}

pub fn roll_call(d: &Dataset) -> Drill {
    let mut cohort: Vec<&Student> = d.students.iter().filter(|s| s.cohort_id == Some(d.cohort)).collect();
    let listed = |v: &[&Student]| -> Vec<Row> { v.iter().map(|s| row![s.id, s.name.as_str()]).collect() };
    cohort.sort_by(|a, b| a.name.cmp(&b.name).then(b.id.cmp(&a.id)));
    let ties_backwards = listed(&cohort);
    cohort.sort_by_key(|s| s.id);
    let by_id = listed(&cohort);
    cohort.sort_by(by_name_then_id);
    let expected = table(&["id", "name"], listed(&cohort));
    Drill::new("08_roll_call.sql", "ordering.md#order-by-and-ties", expected, Order::Exact)
        .param(Param::new("bigint", d.cohort), "a cohort id")
        .trap(
            ties_backwards,
            "Students who share a name are out of order: ORDER BY name leaves the order among equal names to \
             chance. Settle ties with a second column: ORDER BY name, id.",
        )
        .trap(by_id, "Your rows are in order of id; the question orders by name first, then id.")
        .hint("ORDER BY name, id: the second column orders the rows the first leaves tied.")
}

/// Highest grade first, ungraded last, ties by student id (or, with
/// `ties_backwards`, the other way, as storage order gives them).
fn gradebook_order(a: &&Enrollment, b: &&Enrollment, ungraded_first: bool, ties_backwards: bool) -> Ordering {
    let nulls = if ungraded_first {
        a.grade.is_some().cmp(&b.grade.is_some())
    } else {
        b.grade.is_some().cmp(&a.grade.is_some())
    };
    let ties = if ties_backwards { b.student_id.cmp(&a.student_id) } else { a.student_id.cmp(&b.student_id) };
    nulls.then(b.grade.cmp(&a.grade)).then(ties)
}

fn grades(v: &[&Enrollment]) -> Vec<Row> {
    v.iter().map(|e| row![e.student_id, e.grade]).collect()
}

pub fn gradebook(d: &Dataset) -> Drill {
    let mut roster: Vec<&Enrollment> = d.roster(d.course).collect();
    roster.sort_by(|a, b| gradebook_order(a, b, true, false));
    let nulls_first = grades(&roster);
    roster.sort_by(|a, b| gradebook_order(a, b, false, true));
    let ties_backwards = grades(&roster);
    roster.sort_by(|a, b| gradebook_order(a, b, false, false));
    let expected = table(&["student_id", "grade"], grades(&roster));
    Drill::new("09_gradebook.sql", "ordering.md#where-nulls-sort", expected, Order::Exact)
        .param(Param::new("bigint", d.course), "a course id")
        .trap(
            nulls_first,
            "The ungraded enrollments came first: PostgreSQL sorts NULL after every value, so in DESC order it \
             comes first. Say where it goes: ORDER BY grade DESC NULLS LAST.",
        )
        .trap(
            ties_backwards,
            "Equal grades are out of order: add the tie-break the question asks for, ORDER BY grade DESC NULLS \
             LAST, student_id.",
        )
        .hint("ORDER BY grade DESC NULLS LAST, student_id.")
}

pub fn top_grades(d: &Dataset) -> Drill {
    let mut graded: Vec<&Enrollment> = d.roster(d.course).filter(|e| e.grade.is_some()).collect();
    graded.sort_by(|a, b| gradebook_order(a, b, false, false));
    let n = d.top as usize;
    let cut = graded[n - 1].grade;
    let expected =
        table(&["student_id", "grade"], grades(&graded.iter().copied().filter(|e| e.grade >= cut).collect::<Vec<_>>()));
    let limited = grades(&graded[..n]);
    let mut all: Vec<&Enrollment> = d.roster(d.course).collect();
    all.sort_by(|a, b| gradebook_order(a, b, true, false));
    let nulls_first = grades(&all[..n]);
    Drill::new("10_top_grades.sql", "ordering.md#the-first-rows-limit-and-with-ties", expected, Order::Any)
        .descending_on(1)
        .param(Param::new("bigint", d.course), "a course id")
        .param(Param::new("bigint", d.top), "how many")
        .trap(
            limited,
            "A grade tied with the last one is missing: LIMIT $2 cuts after exactly $2 rows, even in the middle \
             of a tie. FETCH FIRST $2 ROWS WITH TIES keeps everyone tied with the last row.",
        )
        .trap(
            nulls_first,
            "Ungraded rows came first: in DESC order NULL sorts first. Leave them out (WHERE grade IS NOT NULL).",
        )
        .hint(
            "Leave out the ungraded, ORDER BY grade DESC, and FETCH FIRST $2 ROWS WITH TIES. WITH TIES counts \
             as tied the rows equal in every ORDER BY column, so order by grade alone.",
        )
}

pub fn student_page(d: &Dataset) -> Drill {
    let mut list: Vec<&Student> = d.students.iter().collect();
    list.sort_by(by_name_then_id);
    let size = d.page_size as usize;
    let page = |start: usize| -> Vec<Row> {
        list.iter().skip(start).take(size).map(|s| row![s.id, s.name.as_str()]).collect()
    };
    let first_row = (d.page as usize - 1) * size;
    let expected = table(&["id", "name"], page(first_row));
    Drill::new("11_student_page.sql", "ordering.md#pages-limit-and-offset", expected, Order::Exact)
        .param(Param::new("bigint", d.page_size), "the page size")
        .param(Param::new("bigint", d.page), "the page number")
        .trap(
            page(first_row + size),
            "You returned the page after the one asked for: page 1 starts at OFFSET 0, so page $2 skips \
             ($2 - 1) * $1 rows.",
        )
        .trap(page(d.page as usize), "OFFSET counts rows, not pages: page $2 skips ($2 - 1) * $1 rows.")
        .hint("ORDER BY name, id LIMIT $1 OFFSET ($2 - 1) * $1.")
}
