-- Children before parents: a table cannot be dropped while another
-- table's foreign key still points at it.
DROP TABLE post_tags;
DROP TABLE tags;
DROP TABLE comments;
DROP TABLE posts;
DROP TABLE users;
