-- silver/listens_quarantine: the listens of this run that cannot be used, with the reason.
--
-- Reads: checked_listens (checked_listens.sql).
SELECT
    event_id,
    user_id,
    track_id,
    played_at,
    ms_played,
    end_reason,
    ingested_at,
    rejection AS reason
FROM checked_listens
WHERE rejection IS NOT NULL
