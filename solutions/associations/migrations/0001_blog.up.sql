-- A small blog: users write posts, posts carry tags, users comment on
-- posts. Every association is a foreign key with an ON DELETE rule that
-- says what the child is, and every foreign key column is indexed.

CREATE TABLE users (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE posts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A post cannot exist without its author.
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title   text NOT NULL
);

CREATE TABLE comments (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A comment on a deleted post has nothing to hang on.
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- A comment outlives its author, who becomes unknown (NULL).
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    body    text NOT NULL
);

CREATE TABLE tags (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- The join table of the many-to-many association between posts and tags.
CREATE TABLE post_tags (
    -- A link to a deleted post means nothing.
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- A tag still in use cannot be deleted: untag the posts first.
    tag_id  bigint NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    PRIMARY KEY (post_id, tag_id)
);

-- PostgreSQL indexes the referenced side (a primary key) but not the
-- referencing column. Without these, loading a user's posts scans all of
-- posts, and so does every DELETE on users, to apply its ON DELETE rule.
-- post_tags.post_id needs none: the primary key starts with it.
CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE INDEX comments_post_id_idx ON comments (post_id);
CREATE INDEX comments_user_id_idx ON comments (user_id);
CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id);
