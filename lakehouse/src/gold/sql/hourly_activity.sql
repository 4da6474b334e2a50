-- gold hourly_activity: listens per UTC day and hour: the hour × weekday heatmap of any date
-- range (the weekday is the day's).
SELECT
    make_date(year, month, day) AS day,
    hour,
    count(*) AS listens
FROM silver_listens
GROUP BY year, month, day, hour
