-- The marts the business dashboards read, by day (and genre), so that every chart and table
-- can be filtered by a date range and a genre.

ALTER TABLE genre_daily
    ADD COLUMN skips bigint NOT NULL DEFAULT 0,
    ADD COLUMN hours_played double precision NOT NULL DEFAULT 0;

CREATE INDEX genre_daily_genre ON genre_daily (genre, day);

-- Listens per UTC day and hour: the hour × weekday heatmap of a date range.
CREATE TABLE hourly_activity (
    day     date NOT NULL,
    hour    smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    listens bigint NOT NULL,
    PRIMARY KEY (day, hour)
);

-- The same per primary genre.
CREATE TABLE genre_hourly_activity (
    genre   text NOT NULL,
    day     date NOT NULL,
    hour    smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    listens bigint NOT NULL,
    PRIMARY KEY (genre, day, hour)
);

-- Listens and skips per UTC day and track, with the genre of its listens.
CREATE TABLE track_daily (
    day      date NOT NULL,
    track_id text NOT NULL,
    genre    text NOT NULL,
    listens  bigint NOT NULL,
    skips    bigint NOT NULL,
    PRIMARY KEY (day, track_id, genre)
);

CREATE INDEX track_daily_genre ON track_daily (genre, day);

-- Listens per UTC day, primary artist and genre.
CREATE TABLE artist_daily (
    day     date NOT NULL,
    artist  text NOT NULL,
    genre   text NOT NULL,
    listens bigint NOT NULL,
    PRIMARY KEY (day, artist, genre)
);

CREATE INDEX artist_daily_genre ON artist_daily (genre, day);

-- The cohort table: for each week's new listeners (cohort_week, Monday UTC) how many listened
-- again each week after; for every genre together (genre = '') and for each genre alone.
CREATE TABLE cohort_retention (
    genre       text NOT NULL,
    cohort_week date NOT NULL,
    weeks_after integer NOT NULL CHECK (weeks_after >= 0),
    listeners   bigint NOT NULL,
    PRIMARY KEY (genre, cohort_week, weeks_after)
);
