-- Expand: courses get `title` beside `name`. The version of the service
-- still running during the deploy reads and writes `name`; the new one
-- uses `title`. Until the contract step, a trigger keeps the two equal
-- whichever one a statement wrote.
ALTER TABLE courses ADD COLUMN title text;
UPDATE courses SET title = name;

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

-- The new code writes only title: name may be left to the trigger.
ALTER TABLE courses ALTER COLUMN name DROP NOT NULL;
