-- gold user_tops: each listener's 10 most played tracks, artists and genres over the last 7
-- days, the last 30 days and all time. Skips do not count. Periods end at the newest listen in
-- silver (`as_of`), so a history imported from the past still has a "last 7 days".
--
-- Silver is read once: each listener's plays of each track are counted for the three periods
-- in one pass, and the artists' and genres' counts are sums of those (far fewer rows than the
-- listens).
WITH bounds AS (
    SELECT max(played_at) AS as_of FROM silver_listens
),
track_plays AS (
    SELECT
        l.user_id,
        l.track_id,
        l.primary_artist,
        l.primary_genre,
        count(*) AS plays_all,
        sum(CASE WHEN l.played_at > b.as_of - INTERVAL '30 days' THEN 1 ELSE 0 END) AS plays_30d,
        sum(CASE WHEN l.played_at > b.as_of - INTERVAL '7 days' THEN 1 ELSE 0 END) AS plays_7d
    FROM silver_listens AS l
    CROSS JOIN bounds AS b
    WHERE NOT l.is_skip
    GROUP BY l.user_id, l.track_id, l.primary_artist, l.primary_genre
),
periods AS (
    SELECT user_id, track_id, primary_artist, primary_genre, 'all' AS period,
        plays_all AS listens
    FROM track_plays
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, '30d' AS period,
        plays_30d AS listens
    FROM track_plays
    WHERE plays_30d > 0
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, '7d' AS period,
        plays_7d AS listens
    FROM track_plays
    WHERE plays_7d > 0
),
counts AS (
    SELECT user_id, period, 'track' AS kind, track_id AS item, sum(listens) AS listens
    FROM periods
    GROUP BY user_id, period, track_id
    UNION ALL
    SELECT user_id, period, 'artist' AS kind, primary_artist AS item, sum(listens) AS listens
    FROM periods
    GROUP BY user_id, period, primary_artist
    UNION ALL
    SELECT user_id, period, 'genre' AS kind, primary_genre AS item, sum(listens) AS listens
    FROM periods
    GROUP BY user_id, period, primary_genre
),
ranked AS (
    SELECT
        user_id, period, kind, item, listens,
        row_number() OVER (
            PARTITION BY user_id, period, kind
            ORDER BY listens DESC, item
        ) AS rank
    FROM counts
)
SELECT r.user_id, r.period, r.kind, r.rank, r.item, r.listens, b.as_of
FROM ranked AS r
CROSS JOIN bounds AS b
WHERE r.rank <= 10
