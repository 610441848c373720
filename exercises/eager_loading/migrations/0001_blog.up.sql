-- Given: the blog of the exercise `associations`, with its answer in
-- place. Users write posts, posts carry tags, users comment on posts;
-- every association is a foreign key with its ON DELETE rule, and every
-- foreign key column is indexed. Nothing to do in this file: this
-- exercise is about reading these tables back, in src/lib.rs.

CREATE TABLE users (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE posts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title   text NOT NULL
);

CREATE TABLE comments (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- NULL once the author is deleted: the comment stays, with no author.
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    body    text NOT NULL
);

CREATE TABLE tags (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);

-- The join table of the many-to-many association between posts and tags.
CREATE TABLE post_tags (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  bigint NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    PRIMARY KEY (post_id, tag_id)
);

CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE INDEX comments_post_id_idx ON comments (post_id);
CREATE INDEX comments_user_id_idx ON comments (user_id);
CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id);
