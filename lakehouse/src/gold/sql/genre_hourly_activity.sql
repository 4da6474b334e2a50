-- gold genre_hourly_activity: listens per primary genre, UTC day and hour: the heatmap of a
-- date range filtered to one genre.
SELECT
    primary_genre AS genre,
    make_date(year, month, day) AS day,
    hour,
    count(*) AS listens
FROM silver_listens
GROUP BY primary_genre, year, month, day, hour
