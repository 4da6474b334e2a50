-- silver/tracks: one row per track id, from the typed rows that passed validation.
--
-- Copies of one track can disagree (the same id listed under several genres with different
-- popularity or features). The copy kept is decided by, in order:
--   1. the most recent import (ingested_at, latest first): newer data supersedes older;
--   2. the highest popularity among copies imported together;
--   3. the first by source file, then line number.
-- Genres are the union of the genres of every valid copy, sorted.
WITH valid AS (
    SELECT * FROM typed_tracks WHERE rejection IS NULL
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY track_id
            ORDER BY ingested_at DESC, popularity DESC, source_file, line_number
        ) AS copy_rank
    FROM valid
),
track_genres AS (
    SELECT track_id, array_sort(array_distinct(array_agg(genre))) AS genres
    FROM valid
    WHERE genre IS NOT NULL
    GROUP BY track_id
)
SELECT
    r.track_id,
    r.name,
    r.artists,
    r.album_name,
    g.genres,
    r.popularity,
    r.duration_ms,
    r.explicit,
    r.danceability,
    r.energy,
    r."key",
    r.loudness,
    r."mode",
    r.speechiness,
    r.acousticness,
    r.instrumentalness,
    r.liveness,
    r.valence,
    r.tempo,
    r.time_signature,
    r.release_year,
    r.batch_id AS source_batch_id,
    r.source_file,
    r.line_number AS source_line
FROM ranked AS r
LEFT JOIN track_genres AS g ON g.track_id = r.track_id
WHERE r.copy_rank = 1
ORDER BY r.track_id
