-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS members_display_name_idx;
