-- A small blog: users write posts, posts carry tags, users comment on
-- posts. The tables and columns are given (the checks and src/lib.rs use
-- these names); the associations between them are yours to declare.
--
-- Every TODO below is one foreign key or one index. Write each foreign key
-- inline, after the column's type:
--     column bigint NOT NULL REFERENCES other_table (id) ON DELETE <rule>
-- and choose the rule from what the child is: CASCADE when it cannot exist
-- without its parent, SET NULL when it can outlive it (the column must
-- then allow NULL), RESTRICT when deleting the parent should be refused
-- while children remain.
--
-- Checks run in a fresh database every time, so edit this file freely.
-- (In a real project you would add a new migration instead: an applied
-- migration must never change.)

CREATE TABLE users (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE posts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- TODO: the author. A post cannot exist without its author: when a
    -- user is deleted, their posts go too.
    user_id bigint NOT NULL,
    title   text NOT NULL
);

CREATE TABLE comments (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- TODO: the post commented on. A comment on a deleted post has nothing
    -- to hang on: it goes with the post.
    post_id bigint NOT NULL,
    -- TODO: the author, who may leave: when a user is deleted, the comments
    -- they wrote on other people's posts stay, with no author.
    user_id bigint,
    body    text NOT NULL
);

CREATE TABLE tags (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- The join table of the many-to-many association between posts and tags:
-- one row per (post, tag) pair, never the same pair twice.
CREATE TABLE post_tags (
    -- TODO: a link to a deleted post means nothing: it goes with the post.
    post_id bigint NOT NULL,
    -- TODO: a tag still on some post must not be deleted: refuse it.
    tag_id  bigint NOT NULL,
    PRIMARY KEY (post_id, tag_id)
);

-- TODO: PostgreSQL does not index a foreign key column for you. Create an
-- index for every foreign key column that no index starts with yet (the
-- primary key above already starts with post_tags.post_id):
--     CREATE INDEX posts_user_id_idx ON posts (user_id);
