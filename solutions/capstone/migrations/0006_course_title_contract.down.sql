-- Back to the expanded schema: both columns, kept equal by the trigger.
ALTER TABLE courses ALTER COLUMN title DROP NOT NULL;
ALTER TABLE courses ADD COLUMN name text;
UPDATE courses SET name = title;

CREATE FUNCTION courses_sync_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.title := coalesce(NEW.title, NEW.name);
        NEW.name := coalesce(NEW.name, NEW.title);
    ELSIF NEW.title IS DISTINCT FROM OLD.title THEN
        NEW.name := NEW.title;
    ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.title := NEW.name;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER courses_sync_title BEFORE INSERT OR UPDATE ON courses
    FOR EACH ROW EXECUTE FUNCTION courses_sync_title();
