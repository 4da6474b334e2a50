-- Listens and skips per UTC day, track, primary artist and genre: what the track_daily and
-- artist_daily marts sum, read once from silver for both.
SELECT
    make_date(year, month, day) AS day,
    track_id,
    primary_artist,
    primary_genre AS genre,
    count(*) AS listens,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips
FROM silver_listens
GROUP BY year, month, day, track_id, primary_artist, primary_genre
