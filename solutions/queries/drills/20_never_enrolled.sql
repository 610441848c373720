-- Drill 20: students who never enrolled.
--
-- The students with no enrollment at all.
-- Columns: id, name. Ordered by id.

SELECT s.id, s.name
FROM students s
WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.student_id = s.id)
ORDER BY s.id;
