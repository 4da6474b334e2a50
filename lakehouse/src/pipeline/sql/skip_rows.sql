-- The newest listens of silver/listens for the skip model: who played what, when, and whether
-- it was a skip. Bounded so that training stays quick on a large lake; ordered in full (ties
-- of a second broken by listener and track), so the same silver trains the same model.
SELECT
    user_id,
    track_id,
    CAST(to_unixtime(played_at) AS BIGINT) AS played_at,
    hour,
    is_skip
FROM silver_listens
ORDER BY played_at DESC, user_id, track_id, is_skip
LIMIT 200000
