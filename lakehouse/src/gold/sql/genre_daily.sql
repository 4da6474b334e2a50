-- gold genre_daily: listens per UTC day and primary genre of the track.
SELECT
    make_date(year, month, day) AS day,
    primary_genre AS genre,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners
FROM silver_listens
GROUP BY year, month, day, primary_genre
