-- The newest listens of silver/listens for the skip model: who played what, when, and whether
-- it was a skip. Bounded so that training stays quick on a large lake.
SELECT
    user_id,
    track_id,
    CAST(to_unixtime(played_at) AS BIGINT) AS played_at,
    hour,
    is_skip
FROM silver_listens
ORDER BY played_at DESC
LIMIT 200000
