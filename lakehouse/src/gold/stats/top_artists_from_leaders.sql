-- The $3 most listened artists of the days $1 to $2 over every genre, found among each day's
-- leaders (artist_day_leaders): the same reasoning as top_tracks_from_leaders.sql. When the
-- last artist returned has no more listens than `most_for_others`, the caller ranks every
-- artist (top_artists.sql).
WITH leaders AS (
    SELECT day, artist, listens, artists_that_day
    FROM artist_day_leaders
    WHERE day BETWEEN $1 AND $2 AND place <= $4::bigint
),
last_leader_of_day AS (
    SELECT CASE WHEN count(*) < max(artists_that_day) THEN min(listens) ELSE 0 END AS listens
    FROM leaders
    GROUP BY day
),
candidates AS (
    -- Each candidate's listens over the range, one index lookup per candidate.
    SELECT leader.artist, total.listens
    FROM (SELECT DISTINCT artist FROM leaders) AS leader
    CROSS JOIN LATERAL (
        SELECT sum(listens)::bigint AS listens
        FROM artist_daily
        WHERE artist = leader.artist AND day BETWEEN $1 AND $2
    ) AS total
    ORDER BY total.listens DESC, leader.artist
    LIMIT $3
)
SELECT
    c.artist AS "id!",
    c.artist AS "name!",
    NULL::text AS "detail?",
    c.listens AS "listens!",
    (SELECT coalesce(sum(listens), 0)::bigint FROM last_leader_of_day) AS "most_for_others!"
FROM candidates AS c
ORDER BY c.listens DESC, c.artist
