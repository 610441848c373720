-- Drill 10: the best grades of a course, ties included.
--
-- $1 is a course id (bigint), $2 a number of rows (bigint).
-- The $2 best grades of course $1, and every other enrollment tied with the
-- last of them: with $2 = 3 and grades 98, 95, 93, 93 and 90, the answer is
-- 98, 95, 93 and 93. Ungraded enrollments never count.
-- Columns: student_id, grade. Highest grade first; equal grades in any
-- order.

SELECT student_id, grade
FROM enrollments
WHERE course_id = $1 AND grade IS NOT NULL
ORDER BY grade DESC
FETCH FIRST $2 ROWS WITH TIES;
