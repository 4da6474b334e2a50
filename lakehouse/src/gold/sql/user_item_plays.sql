-- Staging for user_tops: each listener's plays of each track, artist and genre (skips do not
-- count), all time and in the last 30 and 7 days: one row per listener and item.
--
-- Reads user_track_listens (user_track_listens.sql). Computed once and held in memory,
-- because user_tops reads it once per period. Each kind is grouped on its own: grouping the
-- three kinds' rows together by (listener, kind, item) took four times as long.
SELECT
    user_id, 'track' AS kind, track_id AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, track_id
UNION ALL
SELECT
    user_id, 'artist' AS kind, primary_artist AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, primary_artist
UNION ALL
SELECT
    user_id, 'genre' AS kind, primary_genre AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, primary_genre
