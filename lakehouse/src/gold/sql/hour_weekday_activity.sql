-- gold hour_weekday_activity: listens per weekday (0 = Sunday) and hour of the day, UTC.
SELECT
    weekday,
    hour,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners
FROM silver_listens
GROUP BY weekday, hour
