-- Drill 1: the courses of one department worth at least some credits.
--
-- $1 is a department (text), $2 a number of credits (integer).
-- Return every course of department $1 that is worth $2 credits or more.
-- Columns: code, title, credits. Any order.

SELECT 'write your query here, in place of this line' AS todo;
