-- Drill 24: a month of enrollments.
--
-- $1 is a date (date). Times are in UTC: the checks' sessions run in UTC.
-- Every enrollment made during the calendar month that $1 is in: from its
-- first day at 00:00 up to, but not including, the first day of the next
-- month at 00:00.
-- Columns: student_id, course_id, enrolled_at. Ordered by enrolled_at, then
-- student_id, then course_id.
-- Drill 25 (migrations/0002_enrollments_month_index.up.sql) indexes for this
-- query.

SELECT student_id, course_id, enrolled_at
FROM enrollments
WHERE enrolled_at >= date_trunc('month', $1)
  AND enrolled_at < date_trunc('month', $1) + interval '1 month'
ORDER BY enrolled_at, student_id, course_id;
