-- The $4 most listened tracks of the days $1 to $2 in genre $3, ranking every track of the
-- genre in the range; ties to the smaller id. (A query of its own rather than an optional
-- genre filter, so that a plan PostgreSQL keeps for one suits the other's every call.)
SELECT
    d.track_id AS "id!",
    coalesce(t.name, d.track_id) AS "name!",
    array_to_string(t.artists, ', ') AS "detail?",
    d.listens AS "listens!"
FROM (
    SELECT track_id, sum(listens)::bigint AS listens
    FROM track_daily
    WHERE genre = $3 AND day BETWEEN $1 AND $2
    GROUP BY track_id
    ORDER BY listens DESC, track_id
    LIMIT $4
) AS d
LEFT JOIN tracks AS t USING (track_id)
ORDER BY d.listens DESC, d.track_id
