-- Exactly the rows the up file adds, by their natural key.
DELETE FROM cohorts WHERE code IN ('staff', 'waitlist');
