-- gold users: one row per listener.
SELECT
    user_id,
    min(played_at) AS first_listen_at,
    max(played_at) AS last_listen_at,
    count(*) AS listens,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    count(DISTINCT track_id) AS distinct_tracks,
    sum(ms_played) / 3600000.0 AS hours_played
FROM silver_listens
GROUP BY user_id
