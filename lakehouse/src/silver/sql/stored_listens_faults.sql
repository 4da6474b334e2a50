-- The rows of silver/listens that fail a check added after they were written (a lake built by
-- an older soundlake), with the reason, in the quarantine's columns (listens_quarantine.sql).
--
-- The checks are checked_listens.sql's on the listen's own fields. A listen whose catalogue
-- columns (copied from its track) cannot be stored belongs to a track silver/tracks now sets
-- aside: it waits in the quarantine as a listen of an unknown track, and is released by the
-- re-check if the catalogue gains a good copy of that track.
--
-- Reads: silver_listens.
WITH checked AS (
    SELECT
        event_id, user_id, track_id, played_at, ms_played, end_reason, ingested_at,
        CASE
            WHEN id_fault(event_id) IS NOT NULL THEN 'event_id ' || id_fault(event_id)
            WHEN id_fault(user_id) IS NOT NULL THEN 'user_id ' || id_fault(user_id)
            WHEN id_fault(track_id) IS NOT NULL THEN 'track_id ' || id_fault(track_id)
            WHEN id_fault(end_reason) IS NOT NULL THEN 'end_reason ' || id_fault(end_reason)
            WHEN id_fault(context_source) IS NOT NULL
                THEN 'context source ' || id_fault(context_source)
            WHEN id_fault(context_device) IS NOT NULL
                THEN 'context device ' || id_fault(context_device)
            WHEN text_fault(track_name) IS NOT NULL
                OR text_fault(primary_artist) IS NOT NULL
                OR id_fault(primary_genre) IS NOT NULL
                THEN 'unknown track'
        END AS reason
    FROM silver_listens
)
SELECT event_id, user_id, track_id, played_at, ms_played, end_reason, ingested_at, reason
FROM checked
WHERE reason IS NOT NULL
