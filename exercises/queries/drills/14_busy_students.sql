-- Drill 14: students taking many courses.
--
-- $1 is a number of courses (bigint).
-- The students enrolled in $1 courses or more, with how many.
-- Columns: student_id, courses. Most courses first; equal counts in order of
-- student_id.

SELECT 'write your query here, in place of this line' AS todo;
