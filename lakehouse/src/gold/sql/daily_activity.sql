-- gold daily_activity: listens, listeners and skips per UTC day.
SELECT
    make_date(year, month, day) AS day,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    avg(CASE WHEN is_skip THEN 1.0 ELSE 0.0 END) AS skip_rate,
    sum(ms_played) / 3600000.0 AS hours_played
FROM silver_listens
GROUP BY year, month, day
