-- Drill 2: students the university has not given an email address yet.
--
-- Return the students whose email is NULL (personal_email does not matter
-- here).
-- Columns: id, name. Any order.

SELECT 'write your query here, in place of this line' AS todo;
