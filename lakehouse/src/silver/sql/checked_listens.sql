-- The bronze listens a run reads, one row per event_id (the first copy received wins), with
-- the first rule a listen breaks (`rejection`, NULL for a good listen).
--
-- Reads: bronze_listens_new (new_bronze_listens.sql: the rows bronze gained since the last
-- run, or the rows of quarantined listens checked again), repeated_event_keys
-- (repeated_event_keys.sql), silver_tracks.
--
-- Equal ids have equal keys (event_key, a hash of the id), so a listen whose key is not
-- repeated is the only copy of its event; the copies of the repeated keys are ranked by the
-- id itself, so two ids sharing a hash are still two events.
WITH arrived_once AS (
    SELECT
        event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
        context_source, context_device, ingested_at
    FROM bronze_listens_new AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM repeated_event_keys AS r WHERE r.event_key = n.event_key
    )
),
first_copies AS (
    SELECT
        event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
        context_source, context_device, ingested_at
    FROM (
        SELECT
            *,
            row_number() OVER (
                PARTITION BY event_id
                ORDER BY ingested_at, played_at, track_id, ms_played, end_reason, skipped,
                    context_source, context_device
            ) AS copy_rank
        FROM bronze_listens_new AS n
        WHERE EXISTS (
            SELECT 1 FROM repeated_event_keys AS r WHERE r.event_key = n.event_key
        )
    ) AS copies
    WHERE copy_rank = 1
),
numbered AS (
    SELECT * FROM arrived_once
    UNION ALL
    SELECT * FROM first_copies
)
SELECT
    n.event_id,
    n.user_id,
    n.track_id,
    n.played_at,
    n.ms_played,
    n.end_reason,
    n.skipped,
    n.context_source,
    n.context_device,
    n.ingested_at,
    CASE
        WHEN id_fault(n.event_id) IS NOT NULL THEN 'event_id ' || id_fault(n.event_id)
        WHEN id_fault(n.user_id) IS NOT NULL THEN 'user_id ' || id_fault(n.user_id)
        WHEN id_fault(n.track_id) IS NOT NULL THEN 'track_id ' || id_fault(n.track_id)
        WHEN id_fault(n.end_reason) IS NOT NULL THEN 'end_reason ' || id_fault(n.end_reason)
        WHEN id_fault(n.context_source) IS NOT NULL
            THEN 'context source ' || id_fault(n.context_source)
        WHEN id_fault(n.context_device) IS NOT NULL
            THEN 'context device ' || id_fault(n.context_device)
        WHEN t.track_id IS NULL THEN 'unknown track'
        WHEN n.ms_played < 0 THEN 'ms_played is negative'
        WHEN n.ms_played > 2 * t.duration_ms + 60000 THEN 'ms_played is far longer than the track'
        WHEN n.played_at > n.ingested_at + INTERVAL '1 day'
            THEN 'played_at is later than the listen was received'
        WHEN n.played_at < TIMESTAMP '2000-01-01 00:00:00' THEN 'played_at is before the year 2000'
    END AS rejection
FROM numbered AS n
LEFT JOIN silver_tracks AS t ON t.track_id = n.track_id
