-- Students and courses, many to many. The primary key makes a second
-- enrollment of the same student in the same course impossible, and
-- starts with student_id, so the course side gets an index of its own.
CREATE TABLE enrollments (
    student_id  bigint NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    course_id   bigint NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (student_id, course_id)
);

CREATE INDEX enrollments_course_id_idx ON enrollments (course_id);
