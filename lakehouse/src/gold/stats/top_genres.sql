-- The $3 most listened genres of the days $1 to $2; ties to the smaller name.
SELECT genre AS "id!", genre AS "name!", NULL::text AS "detail?",
    sum(listens)::bigint AS "listens!"
FROM genre_daily
WHERE day BETWEEN $1 AND $2
GROUP BY genre
ORDER BY "listens!" DESC, genre
LIMIT $3
