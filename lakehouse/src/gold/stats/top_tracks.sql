-- The $3 most listened tracks of the days $1 to $2 over every genre, ranking every track of
-- the range; ties to the smaller id.
SELECT
    d.track_id AS "id!",
    coalesce(t.name, d.track_id) AS "name!",
    array_to_string(t.artists, ', ') AS "detail?",
    d.listens AS "listens!"
FROM (
    SELECT track_id, sum(listens)::bigint AS listens
    FROM track_daily
    WHERE day BETWEEN $1 AND $2
    GROUP BY track_id
    ORDER BY listens DESC, track_id
    LIMIT $3
) AS d
LEFT JOIN tracks AS t USING (track_id)
ORDER BY d.listens DESC, d.track_id
