-- gold artist_day_leaders: each UTC day's 2,000 most listened artists over every genre, in
-- order (ties to the smaller name), with how many artists were listened that day: where the
-- dashboards look for the top artists of a date range first
-- (gold/stats/top_artists_from_leaders.sql). The 2,000 are LEADERS_KEPT in gold/stats/top.rs.
--
-- Reads daily_track_plays (daily_track_plays.sql).
WITH per_day AS (
    SELECT day, primary_artist AS artist, sum(listens) AS listens
    FROM daily_track_plays
    GROUP BY day, primary_artist
),
ranked AS (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, artist) AS place,
        artist,
        listens,
        count(*) OVER (PARTITION BY day) AS artists_that_day
    FROM per_day
)
SELECT day, place, artist, listens, artists_that_day
FROM ranked
WHERE place <= 2000
