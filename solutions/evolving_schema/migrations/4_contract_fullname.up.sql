DROP TRIGGER members_sync_names ON members;
DROP FUNCTION members_sync_names();
ALTER TABLE members DROP COLUMN fullname;
ALTER TABLE members ALTER COLUMN display_name SET NOT NULL;
