-- gold track_day_leaders: each UTC day's 2,000 most listened tracks over every genre, in
-- order (ties to the smaller id), with how many tracks were listened that day: where the
-- dashboards look for the top tracks of a date range first
-- (gold/stats/top_tracks_from_leaders.sql). The 2,000 are LEADERS_KEPT in gold/stats/top.rs.
--
-- Reads daily_track_plays (daily_track_plays.sql).
WITH per_day AS (
    SELECT day, track_id, sum(listens) AS listens
    FROM daily_track_plays
    GROUP BY day, track_id
),
ranked AS (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, track_id) AS place,
        track_id,
        listens,
        count(*) OVER (PARTITION BY day) AS tracks_that_day
    FROM per_day
)
SELECT day, place, track_id, listens, tracks_that_day
FROM ranked
WHERE place <= 2000
