-- The quarantined listens to check again: those set aside because their track was unknown,
-- when the catalogue has that track now (it was imported after the listens arrived).
--
-- Reads: silver_listens_quarantine, silver_tracks.
SELECT DISTINCT q.event_id
FROM silver_listens_quarantine AS q
JOIN silver_tracks AS t ON t.track_id = q.track_id
WHERE q.reason = 'unknown track'
