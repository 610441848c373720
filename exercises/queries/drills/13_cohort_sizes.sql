-- Drill 13: how big each cohort is.
--
-- For every cohort_id that students have, how many students have it. The
-- students with no cohort are one more group, whose cohort_id is NULL.
-- Cohorts nobody is in don't appear.
-- Columns: cohort_id, students. Ordered by cohort_id, the NULL group last.

SELECT 'write your query here, in place of this line' AS todo;
