-- Drill 18: how many students each department reaches.
--
-- For every department (every department some course has), how many
-- different students are enrolled in at least one of its courses. A student
-- in two of its courses counts once; a department nobody takes has 0.
-- Columns: department, students. Ordered by department.

SELECT 'write your query here, in place of this line' AS todo;
