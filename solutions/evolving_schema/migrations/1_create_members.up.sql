-- Given: the members of a study club. Don't edit this file: it was
-- applied long ago, everywhere (and sqlx refuses an edited one).
CREATE TABLE members (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fullname  text NOT NULL,
    email     text NOT NULL UNIQUE,
    joined_at timestamptz NOT NULL DEFAULT now()
);
