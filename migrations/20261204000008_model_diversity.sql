-- How varied each model version's published lists are (ml::diversity::Diversity as JSON):
-- intra-list diversity over sound and over artists, and novelty as mean popularity rank.
ALTER TABLE model_versions ADD COLUMN diversity jsonb;
