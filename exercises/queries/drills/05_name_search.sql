-- Drill 5: search by name.
--
-- $1 is a piece of a name, in lowercase (text).
-- Return the students whose name contains $1 anywhere, in any case: 'ann'
-- finds Ann Berg, JOANNA LIND and Dana Hanno.
-- Columns: id, name. Any order.

SELECT 'write your query here, in place of this line' AS todo;
