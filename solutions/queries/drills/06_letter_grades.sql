-- Drill 6: letter grades.
--
-- $1 is a course id (bigint).
-- Every enrollment in course $1 with its letter: 'A' for a grade of 90 or
-- more, 'B' for 80 to 89, 'C' for 70 to 79, 'F' for less than 70, and
-- 'pending' when there is no grade yet (grade is NULL).
-- Columns: student_id, grade, letter. Any order.

SELECT student_id, grade,
       CASE
           WHEN grade IS NULL THEN 'pending'
           WHEN grade >= 90 THEN 'A'
           WHEN grade >= 80 THEN 'B'
           WHEN grade >= 70 THEN 'C'
           ELSE 'F'
       END AS letter
FROM enrollments
WHERE course_id = $1;
