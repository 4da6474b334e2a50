-- silver/listens_quarantine after a re-check: the rows of the events that were not checked
-- again, and the re-checked listens that still fail a check (now for another reason, say).
-- A re-checked event is decided again from all its bronze copies, so every quarantine row it
-- had goes, whatever its reason.
--
-- Reads: silver_listens_quarantine, recheck_ids, listens_quarantine (listens_quarantine.sql
-- over the re-checked listens).
SELECT
    q.event_id, q.user_id, q.track_id, q.played_at, q.ms_played, q.end_reason, q.ingested_at,
    q.reason
FROM silver_listens_quarantine AS q
LEFT JOIN recheck_ids AS r ON r.event_id = q.event_id
WHERE r.event_id IS NULL
UNION ALL
SELECT
    event_id, user_id, track_id, played_at, ms_played, end_reason, ingested_at, reason
FROM listens_quarantine
