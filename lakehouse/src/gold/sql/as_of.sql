-- The end of the marts' periods ("last 7 days", "last 30 days"): the newest listen in silver.
-- The staging and mart queries read it as the parameter `$as_of` (Spark SQL spells a named
-- parameter `:as_of`).
SELECT max(played_at) AS as_of FROM silver_listens
