-- Given: the groups students study in. Seeds and code find a cohort by
-- its `code`, which never changes; `id` is generated, so it differs from
-- one database to the next.
CREATE TABLE cohorts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
