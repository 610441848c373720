-- The cohorts every database needs. ON CONFLICT makes a second run a
-- no-op: the rows are found by their unique code and left as they are.
INSERT INTO cohorts (code, name)
VALUES ('staff', 'Staff'),
       ('waitlist', 'Waiting list')
ON CONFLICT (code) DO NOTHING;
