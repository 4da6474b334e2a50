-- gold track_daily: listens and skips per UTC day and track, with the genre its listens were
-- enriched with: the top tracks of any date range and genre.
--
-- Reads daily_track_plays (daily_track_plays.sql).
SELECT day, track_id, genre, sum(listens) AS listens, sum(skips) AS skips
FROM daily_track_plays
GROUP BY day, track_id, genre
