-- gold artist_daily: listens per UTC day, primary artist and genre of the track: the top
-- artists of any date range and genre.
--
-- Reads daily_track_plays (daily_track_plays.sql).
SELECT day, primary_artist AS artist, genre, sum(listens) AS listens
FROM daily_track_plays
GROUP BY day, primary_artist, genre
