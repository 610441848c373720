-- A forum: users write posts, each post on one topic. The tables are
-- given (the checks and src/lib.rs use these names and columns); the
-- index the feed needs is yours to write, at the TODO below.
--
-- Checks run in a fresh database every time, so edit this file freely.
-- (In a real project you would add a new migration instead: an applied
-- migration must never change.)

CREATE TABLE users (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE posts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic      text NOT NULL,
    title      text NOT NULL,
    -- Many posts share a timestamp (an import, a batch job, a busy
    -- second): created_at alone does not order the feed.
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX posts_user_id_idx ON posts (user_id);

-- The feed lists posts newest first, ORDER BY created_at DESC, id DESC.
-- Read backwards, this index is in exactly that order, so a page is a
-- seek to the cursor and then the next rows: no sort, however deep.
CREATE INDEX posts_feed_idx ON posts (created_at, id);
