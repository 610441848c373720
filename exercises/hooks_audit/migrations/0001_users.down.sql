-- The trigger and its function first, then children before parents: a
-- table cannot be dropped while another table's foreign key points at it.
DROP TRIGGER IF EXISTS users_audit ON users;
DROP FUNCTION IF EXISTS audit_users();
DROP TABLE audit_log;
DROP TABLE users;
DROP TABLE teams;
