-- gold users: one row per listener.
--
-- Reads user_track_listens (user_track_listens.sql): each listener's listens per track.
SELECT
    user_id,
    min(first_listen_at) AS first_listen_at,
    max(last_listen_at) AS last_listen_at,
    sum(listens) AS listens,
    sum(skips) AS skips,
    count(DISTINCT track_id) AS distinct_tracks,
    sum(ms_played) / 3600000.0 AS hours_played
FROM user_track_listens
GROUP BY user_id
