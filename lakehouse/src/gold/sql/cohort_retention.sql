-- gold cohort_retention: the cohort table. A listener's cohort is the week (Monday, UTC) of
-- their first listen; for each cohort and each week after it, how many of its listeners
-- listened again. Computed for every genre together (`genre` = '') and for each genre alone
-- (a listener's cohort is then the week of their first listen in that genre), so that the
-- dashboards' genre filter applies to it too. Week 0 is the cohort's size: its new
-- listeners; the listeners of a week who are not new are returning.
--
-- Portability: `date_trunc('week', ...)` starts weeks on Monday in DataFusion, Spark SQL and
-- PostgreSQL alike; Spark spells the day difference `datediff(a, b)`.
--
-- Reads user_genre_weeks (user_genre_weeks.sql): each listener's weeks per genre.
WITH active AS (
    SELECT user_id, genre, week FROM user_genre_weeks
    UNION ALL
    SELECT DISTINCT user_id, '' AS genre, week FROM user_genre_weeks
),
cohorts AS (
    SELECT user_id, genre, min(week) AS cohort_week
    FROM active
    GROUP BY user_id, genre
)
SELECT
    c.genre,
    c.cohort_week,
    CAST(
        (date_part('epoch', a.week) - date_part('epoch', c.cohort_week)) / 604800 AS INT
    ) AS weeks_after,
    count(*) AS listeners
FROM active AS a
JOIN cohorts AS c ON c.user_id = a.user_id AND c.genre = a.genre
GROUP BY c.genre, c.cohort_week, a.week
