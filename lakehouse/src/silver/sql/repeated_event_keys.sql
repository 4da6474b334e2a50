-- The event keys (64-bit hashes of event_id, new_bronze_listens.sql) seen more than once among
-- the bronze listens a run reads: the events that arrived in several copies, and in principle
-- ids that share a hash. Most events arrive once, so this is small; checked_listens.sql ranks
-- only the copies of these. Held in memory for the run (Spark: a cached temporary view),
-- because checked_listens.sql reads it twice.
--
-- Reads: bronze_listens_new (new_bronze_listens.sql).
SELECT event_key
FROM bronze_listens_new
GROUP BY event_key
HAVING count(*) > 1
