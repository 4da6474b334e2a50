-- gold track_popularity: per track, listens, distinct listeners and skips.
--
-- Reads user_track_listens (user_track_listens.sql): each listener's listens per track.
SELECT
    track_id,
    sum(listens) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(skips) AS skips,
    CAST(sum(skips) AS DOUBLE) / sum(listens) AS skip_rate,
    max(last_listen_at) AS last_played_at
FROM user_track_listens
GROUP BY track_id
