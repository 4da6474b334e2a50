-- silver/listens: the good listens of this run that silver does not hold yet, enriched with
-- the track's catalogue data and the time parts the marts group by. Partitioned by the UTC
-- year / month / day of `played_at`.
--
-- A listen is a skip when under 30 s was played, when the player says the listener moved on
-- (forward or back button), or when the client flagged it as skipped.
--
-- Portability: `array_element(list, 1)` is the first item (1-based); Spark SQL spells it
-- `element_at(list, 1)`. Everything else here is common to DataFusion and Spark SQL.
--
-- Reads: checked_listens (checked_listens.sql), silver_tracks, silver_event_ids (the ids
-- silver already holds in the days this run touches).
SELECT
    c.event_id,
    c.user_id,
    c.track_id,
    c.played_at,
    c.ms_played,
    c.end_reason,
    c.skipped,
    (
        c.ms_played < 30000
        OR coalesce(c.end_reason IN ('fwdbtn', 'backbtn'), false)
        OR coalesce(c.skipped, false)
    ) AS is_skip,
    c.context_source,
    c.context_device,
    t.name AS track_name,
    coalesce(array_element(t.artists, 1), 'unknown') AS primary_artist,
    coalesce(array_element(t.genres, 1), 'unknown') AS primary_genre,
    t.duration_ms,
    t.danceability,
    t.energy,
    t.valence,
    t.tempo,
    t.acousticness,
    t.instrumentalness,
    t.speechiness,
    t.liveness,
    t.loudness,
    CAST(EXTRACT(HOUR FROM c.played_at) AS INT) AS hour,
    CAST(EXTRACT(DOW FROM c.played_at) AS INT) AS weekday,
    c.ingested_at,
    CAST(EXTRACT(YEAR FROM c.played_at) AS INT) AS year,
    CAST(EXTRACT(MONTH FROM c.played_at) AS INT) AS month,
    CAST(EXTRACT(DAY FROM c.played_at) AS INT) AS day
FROM checked_listens AS c
JOIN silver_tracks AS t ON t.track_id = c.track_id
WHERE c.rejection IS NULL
    AND NOT EXISTS (SELECT 1 FROM silver_event_ids AS s WHERE s.event_id = c.event_id)
