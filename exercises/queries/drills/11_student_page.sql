-- Drill 11: one page of the student list.
--
-- $1 is the page size (bigint), $2 the page number, counting from 1 (bigint).
-- The student list is ordered by name, then id. Return page $2 of it: with
-- pages of 5, page 1 is the first 5 students, page 2 the next 5.
-- Columns: id, name, in the list's order.

SELECT 'write your query here, in place of this line' AS todo;
