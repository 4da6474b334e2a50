-- Genre $3 with its listens of the days $1 to $2 (a list of one, or of none without a
-- listen); $4 is the list's length, as for the other lists.
SELECT genre AS "id!", genre AS "name!", NULL::text AS "detail?",
    sum(listens)::bigint AS "listens!"
FROM genre_daily
WHERE genre = $3 AND day BETWEEN $1 AND $2
GROUP BY genre
ORDER BY "listens!" DESC, genre
LIMIT $4
