-- gold user_tops: each listener's 10 most played tracks, artists and genres over the last 7
-- days, the last 30 days and all time. Skips do not count.
--
-- Reads user_track_plays (user_track_plays.sql): the counts per listener and track for the
-- three periods; the artists' and genres' counts are sums of those.
WITH periods AS (
    SELECT user_id, track_id, primary_artist, primary_genre, 'all' AS period,
        plays_all AS listens
    FROM user_track_plays
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, '30d' AS period,
        plays_30d AS listens
    FROM user_track_plays
    WHERE plays_30d > 0
    UNION ALL
    SELECT user_id, track_id, primary_artist, primary_genre, '7d' AS period,
        plays_7d AS listens
    FROM user_track_plays
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
SELECT
    r.user_id, r.period, r.kind, r.rank, r.item, r.listens,
    (SELECT max(as_of) FROM user_track_plays) AS as_of
FROM ranked AS r
WHERE r.rank <= 10
