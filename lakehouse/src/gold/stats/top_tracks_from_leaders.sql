-- The $3 most listened tracks of the days $1 to $2 over every genre, found among each day's
-- leaders (track_day_leaders) instead of among every track.
--
-- A day's leaders are its $4 most listened tracks. Every track that led on some day is a
-- candidate, and a candidate's listens are summed over the whole range. A track that led on
-- no day had, on each day, at most as many listens as that day's last leader (and none on a
-- day whose every track leads), so over the range it has at most `most_for_others` listens.
-- When the last of the $3 candidates returned has more than that, no other track can enter
-- the list: it is the exact top list. Otherwise the caller ranks every track (top_tracks.sql).
WITH leaders AS (
    SELECT day, track_id, listens, tracks_that_day
    FROM track_day_leaders
    WHERE day BETWEEN $1 AND $2 AND place <= $4::bigint
),
last_leader_of_day AS (
    SELECT CASE WHEN count(*) < max(tracks_that_day) THEN min(listens) ELSE 0 END AS listens
    FROM leaders
    GROUP BY day
),
candidates AS (
    -- Each candidate's listens over the range, one index lookup per candidate.
    SELECT leader.track_id, total.listens
    FROM (SELECT DISTINCT track_id FROM leaders) AS leader
    CROSS JOIN LATERAL (
        SELECT sum(listens)::bigint AS listens
        FROM track_daily
        WHERE track_id = leader.track_id AND day BETWEEN $1 AND $2
    ) AS total
    ORDER BY total.listens DESC, leader.track_id
    LIMIT $3
)
SELECT
    c.track_id AS "id!",
    coalesce(t.name, c.track_id) AS "name!",
    array_to_string(t.artists, ', ') AS "detail?",
    c.listens AS "listens!",
    (SELECT coalesce(sum(listens), 0)::bigint FROM last_leader_of_day) AS "most_for_others!"
FROM candidates AS c
LEFT JOIN tracks AS t USING (track_id)
ORDER BY c.listens DESC, c.track_id
