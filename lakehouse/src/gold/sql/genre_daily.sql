-- gold genre_daily: listens, listeners, skips and hours per UTC day and primary genre of the
-- track: the dashboards' daily figures when they are filtered to one genre, and the genre
-- mix over time.
SELECT
    make_date(year, month, day) AS day,
    primary_genre AS genre,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    sum(ms_played) / 3600000.0 AS hours_played
FROM silver_listens
GROUP BY year, month, day, primary_genre
