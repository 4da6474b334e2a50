-- The columns of the bronze listens a run reads (bronze_listens_read: the files bronze gained
-- since the last run) that silver uses; the raw event text stays in bronze. Held in memory
-- for the run (Spark: a cached temporary view), because checked_listens.sql reads it three
-- times.
SELECT
    event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
    context_source, context_device, ingested_at
FROM bronze_listens_read
