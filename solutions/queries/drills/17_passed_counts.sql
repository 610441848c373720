-- Drill 17: what each student of a cohort has passed.
--
-- $1 is a cohort id (bigint).
-- Every student of cohort $1 with the number of courses they passed (a
-- grade of 50 or more). Students who passed none, or never enrolled, have 0.
-- Columns: id, name, passed. Ordered by name, then id.

SELECT s.id, s.name, count(e.course_id) AS passed
FROM students s
LEFT JOIN enrollments e ON e.student_id = s.id AND e.grade >= 50
WHERE s.cohort_id = $1
GROUP BY s.id, s.name
ORDER BY s.name, s.id;
