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

-- TODO: the feed lists posts newest first, ORDER BY created_at DESC,
-- id DESC, one page after another. Create the one index that lets
-- PostgreSQL jump straight to where a page starts and read the page in
-- that order, without sorting: its columns are the feed's sort key, in
-- the same order.
