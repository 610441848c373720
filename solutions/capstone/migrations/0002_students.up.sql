-- Students. Deleting one only marks it (deleted_at): its history stays,
-- and the partial unique index lets a new student take a deleted one's
-- email while two live students never share one.
CREATE TABLE students (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE UNIQUE INDEX students_live_email_key ON students (email) WHERE deleted_at IS NULL;
