-- Staging for users, track_popularity and user_tops: each listener's listens of each track in
-- one pass over silver. `plays_*` count the listens that were not skips, all time and in the
-- last 30 and 7 days; periods end at the newest listen in silver (`$as_of`, as_of.sql), so a
-- history imported from the past still has a "last 7 days". (A parameter rather than a join
-- with the one-row result: joining copied every listen, 3.5 s of the 8.7 s at 10 million.)
--
-- A track's artist and genre are those its listens were enriched with: should a catalogue
-- change have given its listens two, the track has a row for each.
--
-- Computed once and held in memory while the marts are computed (Spark: a cached temporary
-- view): it has a row per listener and track instead of one per listen, and three queries
-- read it.
SELECT
    l.user_id,
    l.track_id,
    l.primary_artist,
    l.primary_genre,
    count(*) AS listens,
    sum(CASE WHEN l.is_skip THEN 1 ELSE 0 END) AS skips,
    sum(l.ms_played) AS ms_played,
    min(l.played_at) AS first_listen_at,
    max(l.played_at) AS last_listen_at,
    sum(CASE WHEN NOT l.is_skip THEN 1 ELSE 0 END) AS plays_all,
    sum(CASE WHEN NOT l.is_skip AND l.played_at > $as_of - INTERVAL '30 days' THEN 1 ELSE 0 END)
        AS plays_30d,
    sum(CASE WHEN NOT l.is_skip AND l.played_at > $as_of - INTERVAL '7 days' THEN 1 ELSE 0 END)
        AS plays_7d
FROM silver_listens AS l
GROUP BY l.user_id, l.track_id, l.primary_artist, l.primary_genre
