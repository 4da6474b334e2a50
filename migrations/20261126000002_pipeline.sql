-- Pipeline runs and their stages, and the gold marts built from lake/silver/listens.

CREATE TABLE pipeline_runs (
    run_id      bigserial PRIMARY KEY,
    -- Who asked: 'cli', 'api', 'schedule', 'test', ...
    trigger     text NOT NULL,
    -- 'running', 'succeeded' or 'failed'.
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text
);

CREATE INDEX pipeline_runs_started ON pipeline_runs (started_at DESC);

CREATE TABLE pipeline_stages (
    run_id           bigint NOT NULL REFERENCES pipeline_runs ON DELETE CASCADE,
    position         smallint NOT NULL,
    stage            text NOT NULL,
    -- 'running', 'succeeded', 'skipped' (nothing new to do) or 'failed'.
    status           text NOT NULL CHECK (status IN ('running', 'succeeded', 'skipped', 'failed')),
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    rows_in          bigint NOT NULL DEFAULT 0,
    rows_out         bigint NOT NULL DEFAULT 0,
    rows_rejected    bigint NOT NULL DEFAULT 0,
    -- Lake table versions, e.g. {"bronze/listens": 12}.
    versions_read    jsonb NOT NULL DEFAULT '{}',
    versions_written jsonb NOT NULL DEFAULT '{}',
    detail           text,
    error            text,
    PRIMARY KEY (run_id, position)
);

-- One row per listener.
CREATE TABLE users (
    user_id         text PRIMARY KEY,
    first_listen_at timestamptz NOT NULL,
    last_listen_at  timestamptz NOT NULL,
    listens         bigint NOT NULL,
    skips           bigint NOT NULL,
    distinct_tracks bigint NOT NULL,
    hours_played    double precision NOT NULL
);

-- One row per UTC day with listens.
CREATE TABLE daily_activity (
    day          date PRIMARY KEY,
    listens      bigint NOT NULL,
    listeners    bigint NOT NULL,
    skips        bigint NOT NULL,
    skip_rate    double precision NOT NULL,
    hours_played double precision NOT NULL
);

-- Listens per day and primary genre of the track.
CREATE TABLE genre_daily (
    day       date NOT NULL,
    genre     text NOT NULL,
    listens   bigint NOT NULL,
    listeners bigint NOT NULL,
    PRIMARY KEY (day, genre)
);

-- Listens per weekday (0 = Sunday) and hour of the day, UTC.
CREATE TABLE hour_weekday_activity (
    weekday   smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    hour      smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    listens   bigint NOT NULL,
    listeners bigint NOT NULL,
    PRIMARY KEY (weekday, hour)
);

-- Per track: how often and by how many it was played, and how often skipped.
CREATE TABLE track_popularity (
    track_id       text PRIMARY KEY,
    listens        bigint NOT NULL,
    listeners      bigint NOT NULL,
    skips          bigint NOT NULL,
    skip_rate      double precision NOT NULL,
    last_played_at timestamptz NOT NULL
);

CREATE INDEX track_popularity_listens ON track_popularity (listens DESC, track_id);

-- Each listener's top 10 tracks, artists and genres over the last 7 days, the last 30 days
-- and all time, counting listens that were not skips. Periods end at the newest listen in
-- silver (`as_of`).
CREATE TABLE user_tops (
    user_id text NOT NULL,
    period  text NOT NULL CHECK (period IN ('7d', '30d', 'all')),
    kind    text NOT NULL CHECK (kind IN ('track', 'artist', 'genre')),
    rank    smallint NOT NULL,
    item    text NOT NULL,
    listens bigint NOT NULL,
    as_of   timestamptz NOT NULL,
    PRIMARY KEY (user_id, period, kind, rank)
);
