-- Teams, their users, and the audit trail of every change to a user. The
-- tables are given (the checks and src/lib.rs use these names); the
-- trigger at the end is yours to write.
--
-- Checks run in a fresh database every time, so edit this file freely.
-- (In a real project you would add a new migration instead: an applied
-- migration must never change.)

CREATE TABLE teams (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

-- A user belongs to a team and goes with it: deleting a team deletes its
-- users, inside PostgreSQL, without any application code running.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id       bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    -- An Argon2id PHC string ($argon2id$v=19$...), never the password.
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_team_id_idx ON users (team_id);

-- One row per change: who made it, what it was, and the row before and
-- after (as JSON, without password_hash: the trail is read by more people
-- than the users table is). No foreign key to users, on purpose: the
-- trail must outlive the rows it describes.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    table_name text NOT NULL,
    row_id     bigint NOT NULL,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id);

-- Writes that never pass through src/lib.rs (an UPDATE typed into psql, a
-- deleted team's users going with it by ON DELETE CASCADE) are audited
-- here. The application audits its own writes, with the actor it knows,
-- and marks its transaction with set_config('audit.by_app', 'on', true):
-- then this trigger stays quiet, so no change is audited twice.
CREATE FUNCTION audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('audit.by_app', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (actor, action, table_name, row_id, before, after)
    VALUES (
        current_user,
        CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
        TG_TABLE_NAME,
        CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END,
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'password_hash' END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'password_hash' END
    );
    RETURN NULL;
END
$$;

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_users();
