ALTER TABLE members ADD COLUMN display_name text;

UPDATE members SET display_name = fullname;

-- Whichever name a writer sets, the other one follows.
CREATE FUNCTION members_sync_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.display_name := coalesce(NEW.display_name, NEW.fullname);
        NEW.fullname := coalesce(NEW.fullname, NEW.display_name);
    ELSIF NEW.fullname IS DISTINCT FROM OLD.fullname THEN
        NEW.display_name := NEW.fullname;
    ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        NEW.fullname := NEW.display_name;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER members_sync_names
BEFORE INSERT OR UPDATE ON members
FOR EACH ROW EXECUTE FUNCTION members_sync_names();
