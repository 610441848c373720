-- The university every drill asks about. Given: don't edit this file.
--
-- Text columns are COLLATE "C": they sort by character code, the same
-- way on every machine (uppercase before lowercase, 'Ada Z' before
-- 'Adam'), so ORDER BY name means one thing everywhere.

CREATE TABLE cohorts (
    id        bigint PRIMARY KEY,
    code      text COLLATE "C" NOT NULL UNIQUE,
    starts_on date NOT NULL
);

CREATE TABLE students (
    id             bigint PRIMARY KEY,
    name           text COLLATE "C" NOT NULL,
    -- The address the university gives; NULL until it is issued.
    email          text COLLATE "C",
    -- An address the student gave us; NULL if they gave none.
    personal_email text COLLATE "C",
    -- NULL when we don't know.
    city           text COLLATE "C",
    -- NULL: not placed in a cohort yet.
    cohort_id      bigint REFERENCES cohorts (id),
    -- Another student who mentors this one; NULL: no mentor.
    mentor_id      bigint REFERENCES students (id),
    joined_on      date NOT NULL
);

CREATE TABLE courses (
    id         bigint PRIMARY KEY,
    code       text COLLATE "C" NOT NULL UNIQUE,
    title      text COLLATE "C" NOT NULL,
    department text COLLATE "C" NOT NULL,
    credits    integer NOT NULL
);

-- One row per student per course they enrolled in.
CREATE TABLE enrollments (
    student_id  bigint NOT NULL REFERENCES students (id),
    course_id   bigint NOT NULL REFERENCES courses (id),
    enrolled_at timestamptz NOT NULL,
    -- 0 to 100; NULL: not graded yet.
    grade       integer CHECK (grade BETWEEN 0 AND 100),
    PRIMARY KEY (student_id, course_id)
);
