-- gold track_daily: listens and skips per UTC day and track, with the genre its listens were
-- enriched with: the top tracks of any date range and genre.
SELECT
    make_date(year, month, day) AS day,
    track_id,
    primary_genre AS genre,
    count(*) AS listens,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips
FROM silver_listens
GROUP BY year, month, day, track_id, primary_genre
