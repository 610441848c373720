-- Drill 21: students who mentor nobody.
--
-- The students whose id is no student's mentor_id.
-- Columns: id, name. Ordered by id.

SELECT 'write your query here, in place of this line' AS todo;
