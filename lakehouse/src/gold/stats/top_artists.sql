-- The $3 most listened artists of the days $1 to $2 over every genre, ranking every artist of
-- the range; ties to the smaller name.
SELECT artist AS "id!", artist AS "name!", NULL::text AS "detail?",
    sum(listens)::bigint AS "listens!"
FROM artist_daily
WHERE day BETWEEN $1 AND $2
GROUP BY artist
ORDER BY "listens!" DESC, artist
LIMIT $3
