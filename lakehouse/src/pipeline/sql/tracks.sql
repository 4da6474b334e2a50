-- What the ML stage needs of each catalogue track: names for reasons, the primary artist for
-- the per-artist cap, the primary genre for cold start, and the audio features (in the order
-- of ml::clusters::FEATURES).
SELECT
    track_id,
    name,
    coalesce(array_element(artists, 1), 'unknown') AS primary_artist,
    coalesce(array_element(genres, 1), 'unknown') AS primary_genre,
    genres,
    danceability,
    energy,
    loudness,
    speechiness,
    acousticness,
    instrumentalness,
    liveness,
    valence,
    tempo
FROM silver_tracks
ORDER BY track_id
