-- The dashboards' top tracks and artists over every genre are found among each day's leaders
-- (lakehouse/src/gold/stats/top_*_from_leaders.sql): two small marts hold each day's 2,000
-- most listened tracks and artists over every genre, in order, with how many were listened that
-- day; a leader's listens over a range are summed by its own key, so track_daily and
-- artist_daily are keyed by track (artist) first, their listens in the key's index. One
-- genre's top list ranks every track (artist) of the genre in the range: its index carries
-- what that reads, so the heap is not visited.

CREATE TABLE track_day_leaders (
    day             date NOT NULL,
    place           integer NOT NULL CHECK (place >= 1),
    track_id        text NOT NULL,
    listens         bigint NOT NULL,
    tracks_that_day bigint NOT NULL,
    PRIMARY KEY (day, place)
);

CREATE TABLE artist_day_leaders (
    day              date NOT NULL,
    place            integer NOT NULL CHECK (place >= 1),
    artist           text NOT NULL,
    listens          bigint NOT NULL,
    artists_that_day bigint NOT NULL,
    PRIMARY KEY (day, place)
);

ALTER TABLE track_daily
    DROP CONSTRAINT track_daily_pkey,
    ADD PRIMARY KEY (track_id, day, genre) INCLUDE (listens);

ALTER TABLE artist_daily
    DROP CONSTRAINT artist_daily_pkey,
    ADD PRIMARY KEY (artist, day, genre) INCLUDE (listens);

DROP INDEX track_daily_genre;
CREATE INDEX track_daily_genre ON track_daily (genre, day) INCLUDE (track_id, listens);

DROP INDEX artist_daily_genre;
CREATE INDEX artist_daily_genre ON artist_daily (genre, day) INCLUDE (artist, listens);

-- The leaders of what gold holds now, as the next refresh of the marts computes them.
INSERT INTO track_day_leaders (day, place, track_id, listens, tracks_that_day)
SELECT day, place, track_id, listens, tracks_that_day
FROM (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, track_id) AS place,
        track_id,
        listens,
        count(*) OVER (PARTITION BY day) AS tracks_that_day
    FROM (
        SELECT day, track_id, sum(listens)::bigint AS listens
        FROM track_daily
        GROUP BY day, track_id
    ) AS per_day
) AS ranked
WHERE place <= 2000;

INSERT INTO artist_day_leaders (day, place, artist, listens, artists_that_day)
SELECT day, place, artist, listens, artists_that_day
FROM (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, artist) AS place,
        artist,
        listens,
        count(*) OVER (PARTITION BY day) AS artists_that_day
    FROM (
        SELECT day, artist, sum(listens)::bigint AS listens
        FROM artist_daily
        GROUP BY day, artist
    ) AS per_day
) AS ranked
WHERE place <= 2000;
