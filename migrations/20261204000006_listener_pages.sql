-- What a listener's own pages show beyond their list: their taste beside their segment's
-- centre, and their latest listens.

-- A listener's taste: the mean audio features of what they play, in the order of the ML
-- stage's features (danceability, energy, loudness, speechiness, acousticness,
-- instrumentalness, liveness, valence, tempo).
ALTER TABLE user_segment_members ADD COLUMN taste double precision[];

-- Each listener's 20 latest listens of the week before the newest listen in silver.
CREATE TABLE user_recent_listens (
    user_id   text NOT NULL,
    played_at timestamptz NOT NULL,
    track_id  text NOT NULL,
    ms_played bigint NOT NULL,
    is_skip   boolean NOT NULL
);

CREATE INDEX user_recent_listens_user ON user_recent_listens (user_id, played_at DESC);
