-- Each team's points and its place in the league; teams level on points
-- share a place. $1: the season.
SELECT t.id AS team_id,
       t.name,
       coalesce(sum(s.points), 0)::bigint AS points,
       rank() OVER (ORDER BY coalesce(sum(s.points), 0) DESC) AS place
FROM teams t
LEFT JOIN scores s ON s.team_id = t.id AND s.season = $1
GROUP BY t.id
ORDER BY place, t.name
