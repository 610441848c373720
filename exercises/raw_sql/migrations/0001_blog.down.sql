DROP TABLE employees;
DROP TABLE posts;
DROP TABLE authors;
