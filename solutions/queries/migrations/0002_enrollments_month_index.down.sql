-- Drill 25: undo the up file: drop the index it creates.

DROP INDEX enrollments_enrolled_at_idx;
