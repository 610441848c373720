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

-- TODO: writes that never pass through src/lib.rs (an UPDATE typed into
-- psql, a deleted team's users going with it by ON DELETE CASCADE) must be
-- audited too. Write a plpgsql function audit_users() RETURNS trigger that
-- inserts one audit_log row per changed row:
--     actor      current_user (the database role: nothing else is known)
--     action     'create', 'update' or 'delete', from TG_OP
--     table_name TG_TABLE_NAME, row_id the row's id
--     before     to_jsonb(OLD) - 'password_hash' (NULL for a create)
--     after      to_jsonb(NEW) - 'password_hash' (NULL for a delete)
-- and returns NULL, and attach it with
--     CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
--         FOR EACH ROW EXECUTE FUNCTION audit_users();
-- The application audits its own writes (it knows who the actor is), and
-- marks its transactions with set_config('audit.by_app', 'on', true): when
-- current_setting('audit.by_app', true) = 'on', the trigger writes nothing,
-- so no change is audited twice.
