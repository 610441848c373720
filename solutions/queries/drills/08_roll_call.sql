-- Drill 8: a cohort's roll call.
--
-- $1 is a cohort id (bigint).
-- Return the students of cohort $1 in alphabetical order of name; students
-- with the same name in order of id, smallest first.
-- Columns: id, name.

SELECT id, name
FROM students
WHERE cohort_id = $1
ORDER BY name, id;
