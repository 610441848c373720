//! The university the drills ask about, generated once per run.
//!
//! Every check loads the same data into its own database (one batch, one
//! round trip), so the rows differ on every run but agree between the
//! checks of one run. `WORKBOOK_SEED` replays a run.
//!
//! Most of it is random. The rows each drill's plausible wrong answers
//! trip over are planted on purpose, every run: students with no email,
//! no cohort, no city, no enrollments; namesakes; grades on the letter
//! boundaries, tied at the cut-off of a top list, and NULL; a course and a
//! department nobody takes; enrollments on the edges of a month. The
//! generator checks its own plants ([`Dataset::traps_hold`]) and draws
//! again until they all hold.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

pub struct Cohort {
    pub id: i64,
    pub code: String,
    pub starts_on: NaiveDate,
}

pub struct Student {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub personal_email: Option<String>,
    pub city: Option<String>,
    pub cohort_id: Option<i64>,
    pub mentor_id: Option<i64>,
    pub joined_on: NaiveDate,
}

pub struct Course {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub department: String,
    pub credits: i32,
}

pub struct Enrollment {
    pub student_id: i64,
    pub course_id: i64,
    pub enrolled_at: NaiveDateTime,
    pub grade: Option<i32>,
}

/// The data, and the values the drills ask about (their `$1`, `$2`).
pub struct Dataset {
    pub seed: u64,
    pub cohorts: Vec<Cohort>,
    pub students: Vec<Student>,
    pub courses: Vec<Course>,
    pub enrollments: Vec<Enrollment>,
    /// The department of `department_courses` and `course_headcount`.
    pub department: String,
    /// `department_courses`' minimum: one of its courses has exactly this.
    pub min_credits: i32,
    /// The cohort of `outside_cohort`, `roll_call` and `passed_counts`.
    pub cohort: i64,
    /// What `name_search` looks for.
    pub fragment: String,
    /// The course of the letter grades, gradebook, top grades, summary,
    /// roster and above-average drills.
    pub course: i64,
    /// How many `top_grades` asks for; the next grade ties with the last.
    pub top: i64,
    pub page_size: i64,
    pub page: i64,
    /// `busy_students`' minimum: some student has exactly this many.
    pub min_courses: i64,
    /// A day in the month `month_enrollments` asks about.
    pub day: NaiveDate,
}

const FIRST: &[&str] = &[
    "Ada", "Alan", "Anita", "Barbara", "Carl", "Dana", "Edgar", "Frances", "Grace", "Hedy", "Ivan", "Joan", "Karl",
    "Lena", "Marta", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tove", "Ulla", "Vera", "Walt",
];
const LAST: &[&str] = &[
    "Abbott", "Berg", "Chen", "Dahl", "Eklund", "Falk", "Gomez", "Holm", "Iqbal", "Jansen", "Kovacs", "Lind", "Moreau",
    "Nagy", "Okafor", "Petrov", "Quist", "Rossi", "Sato", "Tanaka", "Ueda", "Varga", "Weber", "Young",
];
const CITIES: &[&str] = &["Aarhus", "Bergen", "Cork", "Delft", "Gdansk", "Lyon", "Porto", "Turku"];
const DEPARTMENTS: &[&str] =
    &["Biology", "Chemistry", "Computing", "History", "Linguistics", "Mathematics", "Music", "Physics"];
const TOPICS: &[&str] = &[
    "Foundations",
    "Methods",
    "Systems",
    "Theory",
    "Practice",
    "Seminar",
    "Workshop",
    "Laboratory",
    "Topics",
    "Project",
];

impl Dataset {
    /// Draws datasets from `seed` until one has every trap planted and
    /// `accept`s it.
    pub fn generate(seed: u64, accept: impl Fn(&Dataset) -> bool) -> Dataset {
        let mut rng = fastrand::Rng::with_seed(seed);
        loop {
            let d = draw(&mut rng, seed);
            if d.traps_hold() && accept(&d) {
                return d;
            }
        }
    }

    pub fn student(&self, id: i64) -> &Student {
        self.students.iter().find(|s| s.id == id).expect("a student of the dataset")
    }

    pub fn course_by_id(&self, id: i64) -> &Course {
        self.courses.iter().find(|c| c.id == id).expect("a course of the dataset")
    }

    /// The enrollments of one course.
    pub fn roster(&self, course: i64) -> impl Iterator<Item = &Enrollment> {
        self.enrollments.iter().filter(move |e| e.course_id == course)
    }

    /// The first day of the month `month_enrollments` asks about, and of
    /// the month after.
    pub fn month(&self) -> (NaiveDateTime, NaiveDateTime) {
        let first = self.day.with_day(1).expect("day 1 exists");
        (first.and_time(NaiveTime::MIN), next_month(first).and_time(NaiveTime::MIN))
    }

    /// What every drill's wrong answers need to be wrong, checked on the
    /// data as drawn rather than trusted to the drawing.
    pub fn traps_hold(&self) -> bool {
        let graded: Vec<i32> = self.roster(self.course).filter_map(|e| e.grade).collect();
        let ungraded = self.roster(self.course).filter(|e| e.grade.is_none()).count();
        let sum: i32 = graded.iter().sum();
        let n = graded.len() as i32;
        // round(avg, 1) must have a tenth, so integer division shows; and
        // some grade must sit between the course's average and the
        // average of the whole university, and between the average and
        // the average that counts ungraded rows as zeros.
        let tenths = (20 * sum + n) / (2 * n);
        let all: Vec<i32> = self.enrollments.iter().filter_map(|e| e.grade).collect();
        let overall = all.iter().sum::<i32>() as f64 / all.len() as f64;
        let course_avg = sum as f64 / n as f64;
        let as_zeros = sum as f64 / (n as usize + ungraded) as f64;
        let between = |lo: f64, hi: f64| graded.iter().any(|g| (*g as f64) > lo && (*g as f64) <= hi);
        let mut courses_taken: BTreeMap<i64, i64> = BTreeMap::new();
        for e in &self.enrollments {
            *courses_taken.entry(e.student_id).or_default() += 1;
        }
        let busy_exactly = courses_taken.values().any(|c| *c == self.min_courses);
        let busier = courses_taken.values().any(|c| *c > self.min_courses);
        let fewer = courses_taken.values().any(|c| *c < self.min_courses);
        let pages = self.students.len() as i64 > (self.page + 1) * self.page_size;
        tenths % 10 != 0
            && ungraded >= 2
            && between(overall, course_avg)
            && between(as_zeros, course_avg)
            && busy_exactly
            && busier
            && fewer
            && pages
    }
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month")
}

fn last_day(first: NaiveDate) -> NaiveDate {
    next_month(first) - Duration::days(1)
}

/// `n` different ids between `lo` and `hi`, in no particular order.
fn ids(rng: &mut fastrand::Rng, n: usize, lo: i64, hi: i64) -> Vec<i64> {
    let mut set = BTreeSet::new();
    while set.len() < n {
        set.insert(rng.i64(lo..hi));
    }
    let mut v: Vec<i64> = set.into_iter().collect();
    rng.shuffle(&mut v);
    v
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn word(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.lowercase()).collect()
}

fn draw(rng: &mut fastrand::Rng, seed: u64) -> Dataset {
    let year = rng.i32(2021..2025);

    // Cohorts: four, ids far from the other tables' ids.
    let seasons = [(year, "spring", 2), (year, "autumn", 9), (year + 1, "spring", 2), (year + 1, "autumn", 9)];
    let cohort_ids = ids(rng, seasons.len(), 10, 99);
    let cohorts: Vec<Cohort> = seasons
        .iter()
        .zip(&cohort_ids)
        .map(|((y, season, month), id)| Cohort {
            id: *id,
            code: format!("{y}-{season}"),
            starts_on: NaiveDate::from_ymd_opt(*y, *month, 1).expect("a valid date"),
        })
        .collect();
    let cohort = cohorts[rng.usize(..cohorts.len())].id;

    // Courses: the drill's department (one course nobody takes), two
    // more, and a department whose only course nobody takes.
    let mut departments: Vec<&str> = DEPARTMENTS.to_vec();
    rng.shuffle(&mut departments);
    let (dept, other_a, other_b, empty_dept) = (departments[0], departments[1], departments[2], departments[3]);
    let min_credits = rng.i32(4..8);
    let plan: Vec<(&str, i32)> = vec![
        // The drill's department: exactly the minimum, more, less, more.
        (dept, min_credits),
        (dept, min_credits + rng.i32(1..5)),
        (dept, min_credits - rng.i32(1..3)),
        (dept, min_credits + rng.i32(1..3)),
        (dept, rng.i32(1..10)),
        // Other departments, with courses worth the minimum and more.
        (other_a, min_credits + 2),
        (other_a, rng.i32(1..10)),
        (other_a, rng.i32(1..10)),
        (other_a, rng.i32(1..10)),
        (other_b, min_credits),
        (other_b, rng.i32(1..10)),
        (other_b, rng.i32(1..10)),
        (empty_dept, rng.i32(1..10)),
    ];
    let course_ids = ids(rng, plan.len(), 500, 999);
    let mut codes = BTreeSet::new();
    let courses: Vec<Course> = plan
        .iter()
        .zip(&course_ids)
        .map(|((department, credits), id)| {
            let code = loop {
                let code = format!("{}{}", department[..3].to_ascii_uppercase(), rng.i32(100..500));
                if codes.insert(code.clone()) {
                    break code;
                }
            };
            Course {
                id: *id,
                code,
                title: format!("{} {}", department, pick(rng, TOPICS)),
                department: department.to_string(),
                credits: *credits,
            }
        })
        .collect();
    // Roles, by index into `courses`. Nobody ever enrolls in 4 (a course
    // of the drilled department) or 12 (the empty department's only one):
    // they are in no roster below and not open.
    let the_course = courses[5].id; // other_a, the most drilled course
    let all_ungraded = courses[6].id; // other_a, enrolled but nobody graded
    let tied_best = courses[9].id; // other_b, two students share the best grade
    let open: Vec<i64> = [0, 1, 2, 3, 7, 8, 10, 11].iter().map(|&k| courses[k].id).collect();

    // Students.
    let n = rng.usize(40..48);
    let student_ids = ids(rng, n, 1000, 9999);
    let fragment = word(rng, 3);
    let mut students: Vec<Student> = Vec::with_capacity(n);
    let mut cities: Vec<&str> = CITIES.to_vec();
    rng.shuffle(&mut cities);
    cities.truncate(5);
    for (k, id) in student_ids.iter().enumerate() {
        let first = pick(rng, FIRST).to_string();
        let last = pick(rng, LAST).to_string();
        let (first, last) = match k {
            // The fragment, in three cases: capitalised at the start of a
            // surname, inside one, and shouted.
            0 => (first, format!("{}{}", capitalised(&fragment), word(rng, 3))),
            1 => (first, format!("{}{fragment}{}", capitalised(&word(rng, 2)), word(rng, 2))),
            2 => (first.to_ascii_uppercase(), format!("{}{}", word(rng, 2), fragment).to_ascii_uppercase()),
            _ => (first, last),
        };
        let name = format!("{first} {last}");
        let email = Some(format!("{}.{}{}@uni.example", first.to_lowercase(), last.to_lowercase(), rng.u32(1..99)));
        let personal = Some(format!("{}{}@mail.example", word(rng, 5), rng.u32(1..999)));
        // Emails: k 3..=4 have only a personal address, 5..=6 none at all,
        // 7..=9 both; the rest the university's only.
        let (email, personal_email) = match k {
            3 | 4 => (None, personal),
            5 | 6 => (None, None),
            7..=9 => (email, personal),
            _ => (email, None),
        };
        let city = if k % 9 == 4 || k == 11 { None } else { Some(pick(rng, &cities).to_string()) };
        // k 10..=13 have no cohort; 14..=23 are in the drilled cohort (two
        // pairs of namesakes among them); the rest anywhere.
        let cohort_id = match k {
            10..=13 => None,
            14..=23 => Some(cohort),
            _ => Some(pick(rng, &cohorts).id),
        };
        let joined_on = NaiveDate::from_ymd_opt(year, 1, 1).expect("a date") + Duration::days(rng.i64(0..700));
        students.push(Student { id: *id, name, email, personal_email, city, cohort_id, mentor_id: None, joined_on });
    }
    // Namesakes: in the drilled cohort, and one across cohorts.
    for (a, b) in [(15, 16), (19, 21), (30, 12)] {
        students[b].name = students[a].name.clone();
    }
    // Mentors: about a third have one, never themselves.
    for k in 0..n {
        if rng.u8(..3) == 0 {
            let m = loop {
                let m = rng.usize(..n);
                if m != k {
                    break m;
                }
            };
            students[k].mentor_id = Some(students[m].id);
        }
    }
    if students.iter().all(|s| s.mentor_id.is_none()) {
        students[0].mentor_id = Some(students[1].id);
    }

    // Who is planted where in the enrollments (indexes into students).
    let never = [14usize, 25, 26]; // no enrollments at all; 14 is in the drilled cohort
    let only_ungraded = 27usize; // enrolled, but never graded
    let failing = 17usize; // drilled cohort: enrolled, passed nothing
    let mut enrollments: Vec<Enrollment> = Vec::new();
    let start = NaiveDate::from_ymd_opt(year, 1, 1).expect("a date").and_time(NaiveTime::MIN);
    let at = |rng: &mut fastrand::Rng| start + Duration::seconds(rng.i64(0..2 * 365 * 86_400));
    let mut taken: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut enroll = |enrollments: &mut Vec<Enrollment>, rng: &mut fastrand::Rng, s: usize, course: i64, grade| {
        if taken.insert((students[s].id, course)) {
            enrollments.push(Enrollment { student_id: students[s].id, course_id: course, enrolled_at: at(rng), grade });
        }
    };

    // The drilled course: the top tier (distinct grades above a tie), the
    // tie at the cut-off of `top`, the letter boundaries, low grades, and
    // two ungraded (one of them the student who is never graded).
    let top = rng.i64(2..5);
    let pool: Vec<usize> =
        (0..n).filter(|k| !never.contains(k) && *k != only_ungraded && *k != failing).collect::<Vec<_>>();
    let mut roster = pool.clone();
    rng.shuffle(&mut roster);
    let mut tier: Vec<i32> = (95..=100).collect();
    rng.shuffle(&mut tier);
    let tie = rng.i32(91..95);
    let mut grades: Vec<Option<i32>> = tier[..(top - 1) as usize].iter().map(|g| Some(*g)).collect();
    grades.extend([Some(tie), Some(tie), Some(90), Some(80), Some(70)]);
    grades.extend((0..3).map(|_| Some(rng.i32(30..70))));
    grades.push(None);
    for (s, g) in roster.iter().zip(&grades) {
        enroll(&mut enrollments, rng, *s, the_course, *g);
    }
    enroll(&mut enrollments, rng, only_ungraded, the_course, None);
    // Two students share the best grade of another course.
    let best = rng.i32(85..100);
    rng.shuffle(&mut roster);
    for (k, s) in roster.iter().take(5).enumerate() {
        let grade = if k < 2 { best } else { rng.i32(20..best) };
        enroll(&mut enrollments, rng, *s, tied_best, Some(grade));
    }
    // A course with enrollments and not one grade.
    enroll(&mut enrollments, rng, only_ungraded, all_ungraded, None);
    rng.shuffle(&mut roster);
    for s in roster.iter().take(2) {
        enroll(&mut enrollments, rng, *s, all_ungraded, None);
    }
    // Everyone else: a few open courses each, grades lower than the
    // drilled course's so its average stands out. The failing student
    // gets grades under 50 only.
    for s in pool.iter().copied().chain([failing]) {
        let mut open = open.clone();
        rng.shuffle(&mut open);
        for course in open.iter().take(rng.usize(1..6)) {
            let grade = match (s == failing, rng.u8(..8)) {
                (_, 0) => None,
                (true, _) => Some(rng.i32(5..50)),
                (false, _) => Some(rng.i32(20..76)),
            };
            enroll(&mut enrollments, rng, s, *course, grade);
        }
    }
    // Someone takes two courses of the drilled department (so counting
    // enrollments is not counting students).
    let keen = pool[0];
    for course in [courses[0].id, courses[1].id] {
        let grade = Some(rng.i32(20..76));
        enroll(&mut enrollments, rng, keen, course, grade);
    }

    // The month: its edges, inside and out, and the same month a year
    // away. The edge rows borrow enrollments of open courses.
    let month_first = NaiveDate::from_ymd_opt(year, rng.u32(2..12), 1).expect("a date");
    let day = month_first + Duration::days(rng.i64(0..28));
    let last = last_day(month_first);
    let t = |d: NaiveDate, h, m, s| d.and_hms_opt(h, m, s).expect("a valid time");
    let edges = [
        t(month_first, 0, 0, 0),
        t(month_first, 0, 0, 0),
        t(month_first, 9, 15, 0),
        t(last, 12, 0, 0),
        t(last, 23, 30, 0),
        t(next_month(month_first), 0, 0, 0),
        t(month_first - Duration::days(1), 23, 59, 59),
        t(month_first + Duration::days(366), 10, 0, 0),
    ];
    let mut borrowable: Vec<usize> =
        (0..enrollments.len()).filter(|&k| open.contains(&enrollments[k].course_id)).collect();
    rng.shuffle(&mut borrowable);
    for (k, when) in borrowable.iter().zip(edges) {
        enrollments[*k].enrolled_at = when;
    }

    let page_size = rng.i64(4..7);
    let page = rng.i64(2..4);
    let min_courses = rng.i64(3..5);

    // The order rows are stored in: a query that sorts on too few columns
    // gets its ties back in this order, which is never the one asked for.
    students.sort_by(|a, b| a.name.cmp(&b.name).then(b.id.cmp(&a.id)));
    enrollments.sort_by(|a, b| {
        a.course_id
            .cmp(&b.course_id)
            .then(b.grade.is_some().cmp(&a.grade.is_some()))
            .then(b.grade.cmp(&a.grade))
            .then(b.student_id.cmp(&a.student_id))
    });

    Dataset {
        seed,
        cohorts,
        students,
        courses,
        enrollments,
        department: dept.to_owned(),
        min_credits,
        cohort,
        fragment,
        course: the_course,
        top,
        page_size,
        page,
        min_courses,
        day,
    }
}

/// An SQL literal for a text value.
fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
    v.as_ref().map_or_else(|| "NULL".to_owned(), f)
}

/// How PostgreSQL prints a `timestamptz` when the session's time zone is
/// UTC (the checks set it so).
pub fn timestamptz(t: &NaiveDateTime) -> String {
    format!("{}+00", t.format("%Y-%m-%d %H:%M:%S"))
}

impl Dataset {
    /// The INSERTs that fill an empty schema with this dataset, in the
    /// order the rows are meant to be stored.
    pub fn inserts(&self) -> String {
        let mut sql = String::new();
        let values = |rows: Vec<String>| rows.join(",\n");
        sql.push_str("INSERT INTO cohorts (id, code, starts_on) VALUES\n");
        sql.push_str(&values(
            self.cohorts.iter().map(|c| format!("({}, {}, '{}')", c.id, text(&c.code), c.starts_on)).collect(),
        ));
        sql.push_str(
            ";\nINSERT INTO students (id, name, email, personal_email, city, cohort_id, mentor_id, joined_on) VALUES\n",
        );
        sql.push_str(&values(
            self.students
                .iter()
                .map(|s| {
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, '{}')",
                        s.id,
                        text(&s.name),
                        opt(&s.email, |e| text(e)),
                        opt(&s.personal_email, |e| text(e)),
                        opt(&s.city, |c| text(c)),
                        opt(&s.cohort_id, i64::to_string),
                        opt(&s.mentor_id, i64::to_string),
                        s.joined_on
                    )
                })
                .collect(),
        ));
        sql.push_str(";\nINSERT INTO courses (id, code, title, department, credits) VALUES\n");
        sql.push_str(&values(
            self.courses
                .iter()
                .map(|c| {
                    format!("({}, {}, {}, {}, {})", c.id, text(&c.code), text(&c.title), text(&c.department), c.credits)
                })
                .collect(),
        ));
        sql.push_str(";\nINSERT INTO enrollments (student_id, course_id, enrolled_at, grade) VALUES\n");
        sql.push_str(&values(
            self.enrollments
                .iter()
                .map(|e| {
                    format!(
                        "({}, {}, '{}', {})",
                        e.student_id,
                        e.course_id,
                        timestamptz(&e.enrolled_at),
                        opt(&e.grade, i32::to_string)
                    )
                })
                .collect(),
        ));
        sql.push_str(";\n");
        sql
    }
}
