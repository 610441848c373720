-- Drill 23: the best of every course.
--
-- For every course, the enrollments with its best grade: all of them when
-- several share it. Courses without a single grade don't appear.
-- Columns: code, student_id, grade. Ordered by code, then student_id.

SELECT 'write your query here, in place of this line' AS todo;
