-- gold user_tops: each listener's 10 most played tracks, artists and genres over the last 7
-- days, the last 30 days and all time. Skips do not count; ties go to the smaller item id.
-- Sorted by the table's primary-key columns, so PostgreSQL's index is filled mostly in order.
--
-- Reads user_item_plays (user_item_plays.sql): the plays per listener and item for the three
-- periods, whose end is `$as_of` (as_of.sql).
--
-- `top_items(item, listens, n)` (query/functions/top_items) is the list of a group's n items
-- with the most listens, each with its rank: what `row_number() OVER (PARTITION BY user_id, kind
-- ORDER BY listens DESC, item) <= 10` keeps, without sorting every listener's every item.
-- Spark SQL: rank with that window function; `explode` for `unnest`, `top.rank` for
-- `top['rank']`. (DataFusion 55 keeps `tops`' unique key through `unnest` and would sort by it
-- alone; the union of the periods is what keeps `rank` in the final sort.)
WITH tops AS (
    SELECT
        user_id,
        kind,
        top_items(item, plays_all, 10) AS top_all,
        top_items(item, plays_30d, 10) FILTER (WHERE plays_30d > 0) AS top_30d,
        top_items(item, plays_7d, 10) FILTER (WHERE plays_7d > 0) AS top_7d
    FROM user_item_plays
    GROUP BY user_id, kind
),
ranked AS (
    SELECT user_id, 'all' AS period, kind, unnest(top_all) AS top FROM tops
    UNION ALL
    SELECT user_id, '30d' AS period, kind, unnest(top_30d) AS top FROM tops
    UNION ALL
    SELECT user_id, '7d' AS period, kind, unnest(top_7d) AS top FROM tops
)
SELECT
    r.user_id, r.period, r.kind, r.top['rank'] AS rank, r.top['item'] AS item,
    r.top['listens'] AS listens,
    $as_of AS as_of
FROM ranked AS r
ORDER BY r.user_id, r.period, r.kind, rank
