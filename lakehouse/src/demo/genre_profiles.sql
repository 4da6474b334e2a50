-- The statistics the demo catalogue is generated from, per genre of a catalogue in the Spotify
-- Tracks Dataset's columns (read as text, `dataset`): each feature's mean, population standard
-- deviation, minimum and maximum, and the shares of explicit tracks, of the major mode, of 4/4
-- time and of each key (0 = C ... 11 = B). One row per genre, in alphabetical order.
-- Rounded when written (`genre_profiles.csv`), not here.
WITH tracks AS (
    SELECT
        track_genre AS genre,
        CAST(popularity AS DOUBLE) AS popularity,
        CAST(duration_ms AS DOUBLE) AS duration_ms,
        CAST(danceability AS DOUBLE) AS danceability,
        CAST(energy AS DOUBLE) AS energy,
        CAST(loudness AS DOUBLE) AS loudness,
        CAST(speechiness AS DOUBLE) AS speechiness,
        CAST(acousticness AS DOUBLE) AS acousticness,
        CAST(instrumentalness AS DOUBLE) AS instrumentalness,
        CAST(liveness AS DOUBLE) AS liveness,
        CAST(valence AS DOUBLE) AS valence,
        CAST(tempo AS DOUBLE) AS tempo,
        lower(explicit) = 'true' AS explicit,
        CAST("mode" AS BIGINT) AS "mode",
        CAST(time_signature AS BIGINT) AS time_signature,
        CAST("key" AS BIGINT) AS "key"
    FROM dataset
    WHERE track_genre IS NOT NULL
)
SELECT
    genre,
    avg(popularity) AS popularity_mean, stddev_pop(popularity) AS popularity_std,
    min(popularity) AS popularity_min, max(popularity) AS popularity_max,
    avg(duration_ms) AS duration_ms_mean, stddev_pop(duration_ms) AS duration_ms_std,
    min(duration_ms) AS duration_ms_min, max(duration_ms) AS duration_ms_max,
    avg(danceability) AS danceability_mean, stddev_pop(danceability) AS danceability_std,
    min(danceability) AS danceability_min, max(danceability) AS danceability_max,
    avg(energy) AS energy_mean, stddev_pop(energy) AS energy_std,
    min(energy) AS energy_min, max(energy) AS energy_max,
    avg(loudness) AS loudness_mean, stddev_pop(loudness) AS loudness_std,
    min(loudness) AS loudness_min, max(loudness) AS loudness_max,
    avg(speechiness) AS speechiness_mean, stddev_pop(speechiness) AS speechiness_std,
    min(speechiness) AS speechiness_min, max(speechiness) AS speechiness_max,
    avg(acousticness) AS acousticness_mean, stddev_pop(acousticness) AS acousticness_std,
    min(acousticness) AS acousticness_min, max(acousticness) AS acousticness_max,
    avg(instrumentalness) AS instrumentalness_mean,
    stddev_pop(instrumentalness) AS instrumentalness_std,
    min(instrumentalness) AS instrumentalness_min, max(instrumentalness) AS instrumentalness_max,
    avg(liveness) AS liveness_mean, stddev_pop(liveness) AS liveness_std,
    min(liveness) AS liveness_min, max(liveness) AS liveness_max,
    avg(valence) AS valence_mean, stddev_pop(valence) AS valence_std,
    min(valence) AS valence_min, max(valence) AS valence_max,
    avg(tempo) AS tempo_mean, stddev_pop(tempo) AS tempo_std,
    min(tempo) AS tempo_min, max(tempo) AS tempo_max,
    avg(CASE WHEN explicit THEN 1.0 ELSE 0.0 END) AS explicit_share,
    avg(CASE WHEN "mode" = 1 THEN 1.0 ELSE 0.0 END) AS mode_major_share,
    avg(CASE WHEN time_signature = 4 THEN 1.0 ELSE 0.0 END) AS four_four_share,
    avg(CASE WHEN "key" = 0 THEN 1.0 ELSE 0.0 END) AS key_0_share,
    avg(CASE WHEN "key" = 1 THEN 1.0 ELSE 0.0 END) AS key_1_share,
    avg(CASE WHEN "key" = 2 THEN 1.0 ELSE 0.0 END) AS key_2_share,
    avg(CASE WHEN "key" = 3 THEN 1.0 ELSE 0.0 END) AS key_3_share,
    avg(CASE WHEN "key" = 4 THEN 1.0 ELSE 0.0 END) AS key_4_share,
    avg(CASE WHEN "key" = 5 THEN 1.0 ELSE 0.0 END) AS key_5_share,
    avg(CASE WHEN "key" = 6 THEN 1.0 ELSE 0.0 END) AS key_6_share,
    avg(CASE WHEN "key" = 7 THEN 1.0 ELSE 0.0 END) AS key_7_share,
    avg(CASE WHEN "key" = 8 THEN 1.0 ELSE 0.0 END) AS key_8_share,
    avg(CASE WHEN "key" = 9 THEN 1.0 ELSE 0.0 END) AS key_9_share,
    avg(CASE WHEN "key" = 10 THEN 1.0 ELSE 0.0 END) AS key_10_share,
    avg(CASE WHEN "key" = 11 THEN 1.0 ELSE 0.0 END) AS key_11_share
FROM tracks
GROUP BY genre
ORDER BY genre
