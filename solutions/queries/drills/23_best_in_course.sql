-- Drill 23: the best of every course.
--
-- For every course, the enrollments with its best grade: all of them when
-- several share it. Courses without a single grade don't appear.
-- Columns: code, student_id, grade. Ordered by code, then student_id.

SELECT c.code, e.student_id, e.grade
FROM enrollments e
JOIN courses c ON c.id = e.course_id
WHERE e.grade = (SELECT max(e2.grade) FROM enrollments e2 WHERE e2.course_id = e.course_id)
ORDER BY c.code, e.student_id;
