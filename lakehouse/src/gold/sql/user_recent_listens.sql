-- gold user_recent_listens: each listener's 20 latest listens, among the listens of the
-- week before the newest listen in silver (`$as_of`, as_of.sql), so that only that week is
-- ranked.
SELECT user_id, played_at, track_id, ms_played, is_skip
FROM (
    SELECT
        user_id, played_at, track_id, ms_played, is_skip,
        row_number() OVER (PARTITION BY user_id ORDER BY played_at DESC, track_id) AS recency
    FROM silver_listens
    WHERE played_at > $as_of - INTERVAL '7 days'
) AS latest
WHERE recency <= 20
