-- Drill 7: where students live.
--
-- Return every city at least one student lives in, each once. An unknown
-- city (NULL) is not a city: leave it out.
-- Column: city. Any order.

SELECT DISTINCT city
FROM students
WHERE city IS NOT NULL;
