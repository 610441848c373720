-- Drill 22: above the course's average.
--
-- $1 is a course id (bigint).
-- The enrollments of course $1 whose grade is above the average grade of
-- course $1 (the average of the grades it has; ungraded enrollments are not
-- zeros, they don't count).
-- Columns: student_id, grade. Highest grade first, then student_id.

SELECT 'write your query here, in place of this line' AS todo;
