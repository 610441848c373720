-- Given: don't edit this file.
DROP TABLE enrollments;
DROP TABLE courses;
DROP TABLE students;
DROP TABLE cohorts;
