-- gold track_popularity: per track, listens, distinct listeners and skips.
SELECT
    track_id,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    avg(CASE WHEN is_skip THEN 1.0 ELSE 0.0 END) AS skip_rate,
    max(played_at) AS last_played_at
FROM silver_listens
GROUP BY track_id
