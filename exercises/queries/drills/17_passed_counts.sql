-- Drill 17: what each student of a cohort has passed.
--
-- $1 is a cohort id (bigint).
-- Every student of cohort $1 with the number of courses they passed (a
-- grade of 50 or more). Students who passed none, or never enrolled, have 0.
-- Columns: id, name, passed. Ordered by name, then id.

SELECT 'write your query here, in place of this line' AS todo;
