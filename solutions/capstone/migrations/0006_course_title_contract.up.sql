-- Contract, once no running version reads `name`: the trigger goes,
-- then the old column, and title becomes required.
DROP TRIGGER courses_sync_title ON courses;
DROP FUNCTION courses_sync_title();
UPDATE courses SET title = name WHERE title IS NULL;
ALTER TABLE courses DROP COLUMN name;
ALTER TABLE courses ALTER COLUMN title SET NOT NULL;
