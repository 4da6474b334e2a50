-- Bronze catalogue rows with typed values and, for a row that cannot be used, the first rule
-- it breaks (`rejection`, NULL for a good row). One output row per bronze row.
--
-- `id_fault(text)` and `text_fault(text)` (query/functions/scalar.rs) say why a value cannot be
-- stored as an identifier (a control character, over 128 bytes) or as free text (a NUL, over
-- 2,048 bytes), NULL when it can: gold keys tracks and genres by these values.
WITH typed AS (
    SELECT
        batch_id,
        source_file,
        line_number,
        ingested_at,
        nullif(trim(track_id), '') AS track_id,
        nullif(trim(track_name), '') AS name,
        parse_artists(artists, source_format) AS artists,
        nullif(trim(album_name), '') AS album_name,
        nullif(trim(genre), '') AS genre,
        try_cast(trim(popularity) AS INT) AS popularity,
        try_cast(trim(duration_ms) AS BIGINT) AS duration_ms,
        CASE lower(trim(explicit))
            WHEN 'true' THEN true
            WHEN '1' THEN true
            WHEN 'false' THEN false
            WHEN '0' THEN false
        END AS explicit,
        try_cast(trim(danceability) AS DOUBLE) AS danceability,
        try_cast(trim(energy) AS DOUBLE) AS energy,
        try_cast(trim("key") AS INT) AS "key",
        try_cast(trim(loudness) AS DOUBLE) AS loudness,
        try_cast(trim("mode") AS INT) AS "mode",
        try_cast(trim(speechiness) AS DOUBLE) AS speechiness,
        try_cast(trim(acousticness) AS DOUBLE) AS acousticness,
        try_cast(trim(instrumentalness) AS DOUBLE) AS instrumentalness,
        try_cast(trim(liveness) AS DOUBLE) AS liveness,
        try_cast(trim(valence) AS DOUBLE) AS valence,
        try_cast(trim(tempo) AS DOUBLE) AS tempo,
        try_cast(trim(time_signature) AS INT) AS time_signature,
        coalesce(trim(time_signature), '') <> '' AS has_time_signature,
        try_cast(trim(release_year) AS INT) AS release_year,
        coalesce(trim(release_year), '') <> '' AS has_release_year
    FROM bronze_tracks
)
SELECT
    *,
    CASE
        WHEN track_id IS NULL THEN 'missing track_id'
        WHEN name IS NULL THEN 'missing track name'
        WHEN cardinality(artists) = 0 THEN 'missing artists'
        WHEN id_fault(track_id) IS NOT NULL THEN 'track_id ' || id_fault(track_id)
        WHEN text_fault(name) IS NOT NULL THEN 'track name ' || text_fault(name)
        WHEN text_fault(album_name) IS NOT NULL THEN 'album name ' || text_fault(album_name)
        WHEN text_fault(array_to_string(artists, '; ')) IS NOT NULL
            THEN 'artists ' || text_fault(array_to_string(artists, '; '))
        WHEN id_fault(genre) IS NOT NULL THEN 'genre ' || id_fault(genre)
        WHEN popularity IS NULL OR popularity NOT BETWEEN 0 AND 100
            THEN 'popularity is not a whole number from 0 to 100'
        WHEN duration_ms IS NULL OR duration_ms <= 0
            THEN 'duration_ms is not a positive whole number'
        WHEN explicit IS NULL THEN 'explicit is not true or false'
        WHEN danceability IS NULL OR danceability NOT BETWEEN 0 AND 1
            THEN 'danceability is not a number from 0 to 1'
        WHEN energy IS NULL OR energy NOT BETWEEN 0 AND 1
            THEN 'energy is not a number from 0 to 1'
        WHEN speechiness IS NULL OR speechiness NOT BETWEEN 0 AND 1
            THEN 'speechiness is not a number from 0 to 1'
        WHEN acousticness IS NULL OR acousticness NOT BETWEEN 0 AND 1
            THEN 'acousticness is not a number from 0 to 1'
        WHEN instrumentalness IS NULL OR instrumentalness NOT BETWEEN 0 AND 1
            THEN 'instrumentalness is not a number from 0 to 1'
        WHEN liveness IS NULL OR liveness NOT BETWEEN 0 AND 1
            THEN 'liveness is not a number from 0 to 1'
        WHEN valence IS NULL OR valence NOT BETWEEN 0 AND 1
            THEN 'valence is not a number from 0 to 1'
        WHEN loudness IS NULL OR loudness NOT BETWEEN -60 AND 10
            THEN 'loudness is not a number of dB from -60 to 10'
        WHEN tempo IS NULL OR tempo NOT BETWEEN 0 AND 300
            THEN 'tempo is not a number of BPM from 0 to 300'
        WHEN "key" IS NULL OR "key" NOT BETWEEN -1 AND 11
            THEN 'key is not a whole number from -1 to 11'
        WHEN "mode" IS NULL OR "mode" NOT IN (0, 1) THEN 'mode is not 0 or 1'
        WHEN has_time_signature AND (time_signature IS NULL OR time_signature NOT BETWEEN 0 AND 7)
            THEN 'time_signature is not a whole number from 0 to 7'
        WHEN has_release_year AND (release_year IS NULL OR release_year NOT BETWEEN 1800 AND 2100)
            THEN 'release_year is not a year'
    END AS rejection
FROM typed
