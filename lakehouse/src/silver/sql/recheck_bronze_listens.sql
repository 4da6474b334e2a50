-- The bronze rows of the quarantined listens checked again (recheck_ids.sql), every copy
-- received, so that checked_listens.sql keeps the same copy it kept the first time.
--
-- Reads: bronze_listens (all of bronze), recheck_ids.
SELECT b.*
FROM bronze_listens AS b
WHERE b.event_id IN (SELECT event_id FROM recheck_ids)
