-- The $4 most listened artists of the days $1 to $2 in genre $3, ranking every artist of the
-- genre in the range; ties to the smaller name (see top_tracks_of_genre.sql).
SELECT artist AS "id!", artist AS "name!", NULL::text AS "detail?",
    sum(listens)::bigint AS "listens!"
FROM artist_daily
WHERE genre = $3 AND day BETWEEN $1 AND $2
GROUP BY artist
ORDER BY "listens!" DESC, artist
LIMIT $4
