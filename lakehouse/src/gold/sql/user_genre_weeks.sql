-- Staging for cohort_retention: the weeks (Monday, UTC) each listener listened in, per
-- primary genre of the track. Computed once and held in memory: the cohort table reads it
-- for each genre and for every genre together.
SELECT DISTINCT
    user_id,
    primary_genre AS genre,
    CAST(date_trunc('week', played_at) AS DATE) AS week
FROM silver_listens
