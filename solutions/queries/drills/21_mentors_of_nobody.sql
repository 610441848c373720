-- Drill 21: students who mentor nobody.
--
-- The students whose id is no student's mentor_id.
-- Columns: id, name. Ordered by id.

SELECT s.id, s.name
FROM students s
WHERE NOT EXISTS (SELECT 1 FROM students m WHERE m.mentor_id = s.id)
ORDER BY s.id;
