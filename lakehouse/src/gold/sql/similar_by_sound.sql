-- Tracks that sound like $1: same cluster on the map, closest standardised audio features
-- (each feature divided by its spread across the catalogue; 1 when it does not vary),
-- leaving out the ids in $2.
WITH spread AS (
    SELECT
        coalesce(nullif(stddev_pop(danceability), 0), 1) AS danceability,
        coalesce(nullif(stddev_pop(energy), 0), 1) AS energy,
        coalesce(nullif(stddev_pop(valence), 0), 1) AS valence,
        coalesce(nullif(stddev_pop(acousticness), 0), 1) AS acousticness,
        coalesce(nullif(stddev_pop(instrumentalness), 0), 1) AS instrumentalness,
        coalesce(nullif(stddev_pop(tempo), 0), 1) AS tempo,
        coalesce(nullif(stddev_pop(loudness), 0), 1) AS loudness,
        coalesce(nullif(stddev_pop(speechiness), 0), 1) AS speechiness
    FROM tracks
),
target AS (
    SELECT t.*, m.cluster_id FROM tracks t JOIN track_map m USING (track_id)
    WHERE t.track_id = $1
)
SELECT
    CAST(0 AS smallint) AS "rank!",
    t.track_id,
    t.name,
    t.artists,
    CAST(1.0 / (1.0 + sqrt(
        ((t.danceability - g.danceability) / s.danceability) ^ 2
        + ((t.energy - g.energy) / s.energy) ^ 2
        + ((t.valence - g.valence) / s.valence) ^ 2
        + ((t.acousticness - g.acousticness) / s.acousticness) ^ 2
        + ((t.instrumentalness - g.instrumentalness) / s.instrumentalness) ^ 2
        + ((t.tempo - g.tempo) / s.tempo) ^ 2
        + ((t.loudness - g.loudness) / s.loudness) ^ 2
        + ((t.speechiness - g.speechiness) / s.speechiness) ^ 2
    )) AS real) AS "score!",
    'sound' AS "basis!"
FROM target g
CROSS JOIN spread s
JOIN track_map m ON m.cluster_id = g.cluster_id
JOIN tracks t ON t.track_id = m.track_id
WHERE t.track_id <> g.track_id AND NOT (t.track_id = ANY($2))
ORDER BY "score!" DESC, t.track_id
LIMIT $3
