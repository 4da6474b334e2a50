-- Implicit feedback per (listener, track) from silver/listens: a full play adds 1, a skip
-- takes off 0.5 (PLAY_WEIGHT and SKIP_WEIGHT in ml/datasets.rs). Pairs at or below zero are
-- mostly skipped: not a positive interaction, and not recommended again either. The first
-- play (seconds since the epoch) dates when the listener discovered the track, which the
-- evaluation splits by. Ordered by listener, so that the matrix is built one listener's row at
-- a time.
SELECT
    user_id,
    track_id,
    sum(CASE WHEN is_skip THEN -0.5 ELSE 1.0 END) AS weight,
    count(*) AS listens,
    CAST(to_unixtime(min(played_at)) AS BIGINT) AS first_played
FROM silver_listens
GROUP BY user_id, track_id
ORDER BY user_id
