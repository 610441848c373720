-- Drill 20: students who never enrolled.
--
-- The students with no enrollment at all.
-- Columns: id, name. Ordered by id.

SELECT 'write your query here, in place of this line' AS todo;
