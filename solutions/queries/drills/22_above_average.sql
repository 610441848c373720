-- Drill 22: above the course's average.
--
-- $1 is a course id (bigint).
-- The enrollments of course $1 whose grade is above the average grade of
-- course $1 (the average of the grades it has; ungraded enrollments are not
-- zeros, they don't count).
-- Columns: student_id, grade. Highest grade first, then student_id.

SELECT student_id, grade
FROM enrollments
WHERE course_id = $1
  AND grade > (SELECT avg(grade) FROM enrollments WHERE course_id = $1)
ORDER BY grade DESC, student_id;
