-- The columns of the bronze listens a run reads (bronze_listens_read: the files bronze gained
-- since the last run) that silver uses; the raw event text stays in bronze. Held in memory
-- for the run (Spark: a cached temporary view), because repeated_event_keys.sql reads it once
-- and checked_listens.sql twice.
--
-- `event_key` is a 64-bit hash of `event_id`: checked_listens.sql finds the ids that arrived
-- more than once by grouping these numbers instead of 10 million id texts.
--
-- In the order they were played: silver is written partitioned by day, and rows that arrive
-- day by day are written to one day's file at a time instead of a little to every day's
-- (an import of one listener's history after another's spans every day in each batch).
SELECT
    event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
    context_source, context_device, ingested_at,
    xxhash64(event_id) AS event_key
FROM bronze_listens_read
ORDER BY played_at
