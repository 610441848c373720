-- Drill 25: an index for drill 24.
--
-- Drill 24 asks for one month of enrollments. With no index to help,
-- PostgreSQL reads every row of the table to find them. Write the
-- CREATE INDEX that lets it go straight to the month's rows, and in
-- 0002_enrollments_month_index.down.sql the statement that removes it.
-- The check fills enrollments with thousands of rows, asks PostgreSQL
-- (EXPLAIN) how it would run your drill 24 query, and looks for your index
-- in the plan.

CREATE INDEX enrollments_enrolled_at_idx ON enrollments (enrolled_at);
