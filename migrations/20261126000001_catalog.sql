-- The track catalogue, loaded from lake/silver/tracks.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE tracks (
    track_id         text PRIMARY KEY,
    name             text NOT NULL,
    artists          text[] NOT NULL,
    album_name       text,
    genres           text[] NOT NULL,
    popularity       smallint NOT NULL CHECK (popularity BETWEEN 0 AND 100),
    duration_ms      integer NOT NULL CHECK (duration_ms > 0),
    explicit         boolean NOT NULL,
    danceability     double precision NOT NULL,
    energy           double precision NOT NULL,
    key              smallint NOT NULL,
    loudness         double precision NOT NULL,
    mode             smallint NOT NULL,
    speechiness      double precision NOT NULL,
    acousticness     double precision NOT NULL,
    instrumentalness double precision NOT NULL,
    liveness         double precision NOT NULL,
    valence          double precision NOT NULL,
    tempo            double precision NOT NULL,
    time_signature   smallint,
    release_year     smallint,
    -- Lower-cased name, artists and album: what the search box matches against.
    search_text      text NOT NULL
);

-- Substring search on name / artist / album ("ILIKE '%query%'") through trigrams.
CREATE INDEX tracks_search_text_trgm ON tracks USING gin (search_text gin_trgm_ops);
-- Genre filter ("genres @> ARRAY['jazz']").
CREATE INDEX tracks_genres ON tracks USING gin (genres);
-- The default order of search results.
CREATE INDEX tracks_popularity ON tracks (popularity DESC, track_id);

-- One row per genre with its number of tracks.
CREATE TABLE genres (
    genre       text PRIMARY KEY,
    track_count integer NOT NULL
);

-- Which version of a lake table each gold table was last loaded from, so that loads are
-- skipped when nothing changed and resumed from the right place after a failure.
CREATE TABLE lake_loads (
    target         text PRIMARY KEY,
    source_table   text NOT NULL,
    source_version bigint NOT NULL,
    rows_loaded    bigint NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now()
);
