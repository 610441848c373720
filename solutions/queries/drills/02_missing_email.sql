-- Drill 2: students the university has not given an email address yet.
--
-- Return the students whose email is NULL (personal_email does not matter
-- here).
-- Columns: id, name. Any order.

SELECT id, name
FROM students
WHERE email IS NULL;
