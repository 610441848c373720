-- Only the seed's own courses, found by their codes (enrollments in them
-- go too: ON DELETE CASCADE).
DELETE FROM courses WHERE code IN ('DB101', 'WEB201', 'SEC301', 'LAB100');
