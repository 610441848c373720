-- Given: everyone who can sign in. Every user belongs to a cohort.
CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    role       text NOT NULL DEFAULT 'student' CHECK (role IN ('student', 'admin')),
    cohort_id  bigint NOT NULL REFERENCES cohorts (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
