-- Drill 19: every student and their mentor.
--
-- Every student with the name of their mentor (the student whose id is
-- their mentor_id), or NULL for students who have no mentor.
-- Columns: id, name, mentor. Ordered by name, then id.

SELECT 'write your query here, in place of this line' AS todo;
