-- Drill 14: students taking many courses.
--
-- $1 is a number of courses (bigint).
-- The students enrolled in $1 courses or more, with how many.
-- Columns: student_id, courses. Most courses first; equal counts in order of
-- student_id.

SELECT student_id, count(*) AS courses
FROM enrollments
GROUP BY student_id
HAVING count(*) >= $1
ORDER BY courses DESC, student_id;
