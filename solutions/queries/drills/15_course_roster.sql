-- Drill 15: who is in a course.
--
-- $1 is a course code (text), such as 'BIO204'.
-- Everyone enrolled in the course whose code is $1, with their grade (NULL
-- when not graded yet).
-- Columns: student_id, name, grade. Ordered by name, then student_id.

SELECT s.id AS student_id, s.name, e.grade
FROM enrollments e
JOIN students s ON s.id = e.student_id
JOIN courses c ON c.id = e.course_id
WHERE c.code = $1
ORDER BY s.name, s.id;
