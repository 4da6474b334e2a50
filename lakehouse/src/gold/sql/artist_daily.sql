-- gold artist_daily: listens per UTC day, primary artist and genre of the track: the top
-- artists of any date range and genre.
SELECT
    make_date(year, month, day) AS day,
    primary_artist AS artist,
    primary_genre AS genre,
    count(*) AS listens
FROM silver_listens
GROUP BY year, month, day, primary_artist, primary_genre
