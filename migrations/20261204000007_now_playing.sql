-- What each listener's player says is playing now (a ListenBrainz `playing_now`
-- submission): not a listen, shown on the listener's page until it expires.
CREATE TABLE now_playing (
    user_id        text PRIMARY KEY,
    -- The submission's track_metadata, as the player sent it.
    track_metadata jsonb NOT NULL,
    -- The catalogue's track, when the submission matched one.
    track_id       text,
    started_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);
