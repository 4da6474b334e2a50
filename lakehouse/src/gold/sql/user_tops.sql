-- gold user_tops: each listener's 10 most played tracks, artists and genres over the last 7
-- days, the last 30 days and all time. Skips do not count. Periods end at the newest listen in
-- silver (`as_of`), so a history imported from the past still has a "last 7 days".
WITH bounds AS (
    SELECT max(played_at) AS as_of FROM silver_listens
),
plays AS (
    SELECT l.user_id, l.track_id, l.primary_artist, l.primary_genre, l.played_at, b.as_of
    FROM silver_listens AS l
    CROSS JOIN bounds AS b
    WHERE NOT l.is_skip
),
periods AS (
    SELECT user_id, track_id, primary_artist, primary_genre, as_of, 'all' AS period
    FROM plays
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, as_of, '30d' AS period
    FROM plays
    WHERE played_at > as_of - INTERVAL '30 days'
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, as_of, '7d' AS period
    FROM plays
    WHERE played_at > as_of - INTERVAL '7 days'
),
counts AS (
    SELECT user_id, period, 'track' AS kind, track_id AS item, count(*) AS listens,
        max(as_of) AS as_of
    FROM periods
    GROUP BY user_id, period, track_id
    UNION ALL
    SELECT user_id, period, 'artist' AS kind, primary_artist AS item, count(*) AS listens,
        max(as_of) AS as_of
    FROM periods
    GROUP BY user_id, period, primary_artist
    UNION ALL
    SELECT user_id, period, 'genre' AS kind, primary_genre AS item, count(*) AS listens,
        max(as_of) AS as_of
    FROM periods
    GROUP BY user_id, period, primary_genre
),
ranked AS (
    SELECT
        user_id, period, kind, item, listens, as_of,
        row_number() OVER (
            PARTITION BY user_id, period, kind
            ORDER BY listens DESC, item
        ) AS rank
    FROM counts
)
SELECT user_id, period, kind, rank, item, listens, as_of
FROM ranked
WHERE rank <= 10
