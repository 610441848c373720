-- A blog and the company that writes it. The schema is given: your work
-- is in src/lib.rs.

CREATE TABLE authors (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE posts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id    bigint      NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    -- COLLATE "C" sorts by the bytes, the same on every server, whatever
    -- language it was installed for.
    title        text        COLLATE "C" NOT NULL,
    likes        integer     NOT NULL DEFAULT 0,
    published_at timestamptz NOT NULL
);

CREATE INDEX posts_author_id_published_at_idx ON posts (author_id, published_at DESC);

-- Who reports to whom. manager_id is NULL at the top. Nothing stops a
-- chain of managers from looping back on itself, and the data the checks
-- load has such a loop.
CREATE TABLE employees (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text   NOT NULL,
    manager_id bigint REFERENCES employees (id)
);

CREATE INDEX employees_manager_id_idx ON employees (manager_id);
