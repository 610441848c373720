-- Down: dropping the table also drops its identity sequence, its primary
-- key and the unique index on email, so the schema is as it was.
DROP TABLE students;
