-- no-transaction
-- Builds the index without blocking writes; alone in its file, because
-- PostgreSQL runs several statements sent together in one transaction.
CREATE INDEX CONCURRENTLY members_display_name_idx ON members (display_name);
