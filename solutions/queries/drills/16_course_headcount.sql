-- Drill 16: how full a department's courses are.
--
-- $1 is a department (text).
-- Every course of department $1 with its number of enrollments; a course
-- nobody is enrolled in has 0.
-- Columns: code, students. Ordered by code.

SELECT c.code, count(e.student_id) AS students
FROM courses c
LEFT JOIN enrollments e ON e.course_id = c.id
WHERE c.department = $1
GROUP BY c.id, c.code
ORDER BY c.code;
