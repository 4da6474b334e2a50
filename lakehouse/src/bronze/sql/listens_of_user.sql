-- One listener's listens in bronze, newest or oldest first ($order): each event once (a
-- client's retry can store an event twice), played within [$min_played_at, $max_played_at].
WITH theirs AS (
    SELECT
        event_id, played_at, track_id, ms_played, raw, ingested_at,
        row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) AS copy
    FROM bronze_listens
    WHERE user_id = $user_id
      AND played_at >= $min_played_at
      AND played_at <= $max_played_at
)
SELECT event_id, played_at, track_id, ms_played, raw, ingested_at
FROM theirs
WHERE copy = 1
ORDER BY played_at $order, event_id $order
LIMIT $count
