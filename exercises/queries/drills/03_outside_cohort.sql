-- Drill 3: everyone outside one cohort.
--
-- $1 is a cohort id (bigint).
-- Return every student who is not in cohort $1: the students of every other
-- cohort, and the students in no cohort at all (cohort_id is NULL).
-- Columns: id, name. Any order.

SELECT 'write your query here, in place of this line' AS todo;
