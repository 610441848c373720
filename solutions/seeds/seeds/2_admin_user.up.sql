-- The administrator, in the staff cohort whatever its id is here.
INSERT INTO users (email, name, role, cohort_id)
SELECT 'admin@workbook.example', 'Workbook Admin', 'admin', id
FROM cohorts
WHERE code = 'staff'
ON CONFLICT (email) DO NOTHING;
