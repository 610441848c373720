-- Drill 9: a course's gradebook.
--
-- $1 is a course id (bigint).
-- Every enrollment of course $1: the highest grade first, the ungraded
-- (grade is NULL) last, and equal grades in order of student_id, smallest
-- first.
-- Columns: student_id, grade.

SELECT 'write your query here, in place of this line' AS todo;
