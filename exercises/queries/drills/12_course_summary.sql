-- Drill 12: a course in three numbers.
--
-- $1 is a course id (bigint).
-- One row about course $1: enrolled, the number of its enrollments; graded,
-- how many of them have a grade; average, the average of the grades it has,
-- rounded to one decimal place with round(..., 1).
-- Columns: enrolled, graded, average.

SELECT 'write your query here, in place of this line' AS todo;
