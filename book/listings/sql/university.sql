-- The sample university of the chapter "Querying": the exercise's own
-- tables (its migration is included between these two parts) and a few
-- rows, few enough to check every result by eye.

-- ANCHOR: reset
-- Safe to run again: it drops the tables first. UTC, so times print the
-- same for everyone.
SET TimeZone TO 'UTC';
DROP TABLE IF EXISTS enrollments, courses, students, cohorts;
-- ANCHOR_END: reset

-- ANCHOR: rows
INSERT INTO cohorts VALUES
    (1, '2024-spring', '2024-02-01'),
    (2, '2024-autumn', '2024-09-01'),
    (3, '2025-spring', '2025-02-01');

INSERT INTO students VALUES
    (1, 'Ada Berg',      'ada.berg@uni.example',      NULL,                 'Lyon',  1,    NULL, '2024-01-15'),
    (2, 'Ken Dahl',      NULL,                        'ken.d@mail.example', 'Porto', 1,    1,    '2024-01-20'),
    (3, 'Hanna Quist',   'hanna.quist@uni.example',   'hq@mail.example',    'Lyon',  2,    1,    '2024-08-02'),
    (4, 'Ada Berg',      'ada.berg2@uni.example',     NULL,                 NULL,    2,    3,    '2024-08-10'),
    (5, 'Omar Sato',     NULL,                        NULL,                 'Cork',  NULL, NULL, '2024-09-01'),
    (6, 'JOHANNA VARGA', 'johanna.varga@uni.example', NULL,                 'Porto', 1,    3,    '2024-01-18'),
    (7, 'Vera Nagy',     'vera.nagy@uni.example',     NULL,                 'Cork',  2,    NULL, '2024-08-20');

INSERT INTO courses VALUES
    (10, 'BIO101', 'Cells and life', 'Biology', 5),
    (11, 'BIO205', 'Genetics',       'Biology', 7),
    (12, 'HIS110', 'Ancient worlds', 'History', 5),
    (13, 'HIS230', 'Modern Europe',  'History', 7),
    (14, 'MUS120', 'Harmony',        'Music',   3);

INSERT INTO enrollments VALUES
    (1, 10, '2024-02-12 10:00', 92),
    (2, 10, '2024-02-13 11:30', 78),
    (3, 10, '2024-03-01 00:00', 85),
    (4, 10, '2024-03-04 14:20', 85),
    (6, 10, '2024-03-31 18:30', NULL),
    (7, 10, '2024-02-20 08:45', 64),
    (1, 11, '2024-04-01 00:00', 88),
    (3, 11, '2024-03-15 12:00', 88),
    (6, 11, '2024-04-02 09:10', 40),
    (1, 12, '2024-09-03 10:00', 45),
    (2, 12, '2024-09-03 10:05', 90),
    (4, 12, '2024-09-04 16:40', NULL),
    (6, 12, '2024-09-05 09:00', 30),
    (7, 12, '2025-03-10 10:00', 80);
-- ANCHOR_END: rows
