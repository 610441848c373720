DROP TRIGGER courses_sync_title ON courses;
DROP FUNCTION courses_sync_title();
UPDATE courses SET name = title WHERE name IS NULL;
ALTER TABLE courses ALTER COLUMN name SET NOT NULL;
ALTER TABLE courses DROP COLUMN title;
