-- Drill 15: who is in a course.
--
-- $1 is a course code (text), such as 'BIO204'.
-- Everyone enrolled in the course whose code is $1, with their grade (NULL
-- when not graded yet).
-- Columns: student_id, name, grade. Ordered by name, then student_id.

SELECT 'write your query here, in place of this line' AS todo;
