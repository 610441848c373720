-- Drill 16: how full a department's courses are.
--
-- $1 is a department (text).
-- Every course of department $1 with its number of enrollments; a course
-- nobody is enrolled in has 0.
-- Columns: code, students. Ordered by code.

SELECT 'write your query here, in place of this line' AS todo;
