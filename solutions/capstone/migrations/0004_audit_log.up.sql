-- The audit trail: one row per change to an enrollment, written in the
-- same transaction as the change. course_code, not a foreign key: the
-- trail outlives what it describes.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action      text NOT NULL CHECK (action IN ('enrolled', 'withdrawn', 'student_deleted')),
    student_id  bigint NOT NULL,
    course_code text,
    at          timestamptz NOT NULL DEFAULT now()
);
