-- The catalogue every database starts with. ON CONFLICT leaves a course
-- that is already there as it is, so seeding twice changes nothing.
INSERT INTO courses (code, title, seats)
VALUES ('DB101', 'Databases', 40),
       ('WEB201', 'Web services', 30),
       ('SEC301', 'Security engineering', 25),
       ('LAB100', 'Lab safety', 120)
ON CONFLICT (code) DO NOTHING;
