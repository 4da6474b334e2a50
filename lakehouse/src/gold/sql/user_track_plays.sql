-- Staging for user_tops: each listener's plays of each track (skips do not count), all time
-- and in the last 30 and 7 days, in one pass over silver. Periods end at the newest listen in
-- silver (`as_of`), so a history imported from the past still has a "last 7 days".
--
-- Computed once and held in memory while the marts are computed (Spark: a cached temporary
-- view), because user_tops reads it nine times.
WITH bounds AS (
    SELECT max(played_at) AS as_of FROM silver_listens
)
SELECT
    l.user_id,
    l.track_id,
    l.primary_artist,
    l.primary_genre,
    count(*) AS plays_all,
    sum(CASE WHEN l.played_at > b.as_of - INTERVAL '30 days' THEN 1 ELSE 0 END) AS plays_30d,
    sum(CASE WHEN l.played_at > b.as_of - INTERVAL '7 days' THEN 1 ELSE 0 END) AS plays_7d,
    max(b.as_of) AS as_of
FROM silver_listens AS l
CROSS JOIN bounds AS b
WHERE NOT l.is_skip
GROUP BY l.user_id, l.track_id, l.primary_artist, l.primary_genre
