-- gold user_tops: each listener's 10 most played tracks, artists and genres over the last 7
-- days, the last 30 days and all time. Skips do not count; ties go to the smaller item id.
-- Sorted by the table's primary-key columns, so PostgreSQL's index is filled mostly in order.
--
-- Reads user_item_plays (user_item_plays.sql): the plays per listener and item for the three
-- periods, and user_track_listens for the end of the periods (`as_of`).
WITH counts AS (
    SELECT user_id, 'all' AS period, kind, item, plays_all AS listens
    FROM user_item_plays
    UNION ALL
    SELECT user_id, '30d' AS period, kind, item, plays_30d AS listens
    FROM user_item_plays
    WHERE plays_30d > 0
    UNION ALL
    SELECT user_id, '7d' AS period, kind, item, plays_7d AS listens
    FROM user_item_plays
    WHERE plays_7d > 0
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
    (SELECT max(as_of) FROM user_track_listens) AS as_of
FROM ranked AS r
WHERE r.rank <= 10
ORDER BY r.user_id, r.period, r.kind, r.rank
