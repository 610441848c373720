-- Children before parents: a table cannot be dropped while another
-- table's foreign key still points at it.
DROP TABLE orders;
DROP TABLE addresses;
DROP TABLE members;
