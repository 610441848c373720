-- Drill 4: one address for every student.
--
-- Return every student with the address to write to: their university
-- email; if they have none, their personal_email; if they have neither, the
-- text 'none'.
-- Columns: id, name, contact. Any order.

SELECT id, name, COALESCE(email, personal_email, 'none') AS contact
FROM students;
