-- The ML stage's gold tables: model versions with their offline metrics, the recommendations
-- and similar tracks of each version, track clusters and the map, listener taste segments,
-- and listeners' feedback.

-- One row per trained model version. Exactly one is current: the one the API serves.
CREATE TABLE model_versions (
    model_version  bigserial PRIMARY KEY,
    run_id         bigint REFERENCES pipeline_runs ON DELETE SET NULL,
    -- The chosen model family ('hybrid', 'item_knn', ...), its settings, and the whole
    -- specification the stage can train again from.
    model          text NOT NULL,
    params         jsonb NOT NULL,
    spec           jsonb NOT NULL,
    -- Whether this version ran the offline evaluation; otherwise it retrained the model an
    -- earlier evaluation chose, and its metrics rows are that evaluation's.
    evaluated      boolean NOT NULL,
    trained_at     timestamptz NOT NULL DEFAULT now(),
    -- The silver/listens version it was trained on.
    silver_version bigint NOT NULL,
    users          bigint NOT NULL,
    items          bigint NOT NULL,
    interactions   bigint NOT NULL,
    train_secs     double precision NOT NULL,
    -- The skip model's figures (AUC, log-loss, base rate), when there were enough listens.
    skip_metrics   jsonb,
    is_current     boolean NOT NULL DEFAULT false
);

CREATE UNIQUE INDEX model_versions_one_current ON model_versions (is_current) WHERE is_current;

-- Offline evaluation of every model family for a version (the protocol of `bench recsys`).
CREATE TABLE model_metrics (
    model_version   bigint NOT NULL REFERENCES model_versions ON DELETE CASCADE,
    model           text NOT NULL,
    chosen          boolean NOT NULL,
    params          jsonb NOT NULL,
    validation_ndcg double precision NOT NULL,
    ndcg            double precision NOT NULL,
    recall          double precision NOT NULL,
    precision       double precision NOT NULL,
    map             double precision NOT NULL,
    coverage        double precision NOT NULL,
    train_secs      double precision NOT NULL,
    eval_secs       double precision NOT NULL,
    test_users      bigint NOT NULL,
    PRIMARY KEY (model_version, model)
);

-- The top recommendations of each listener, per model version.
CREATE TABLE recommendations (
    model_version bigint NOT NULL REFERENCES model_versions ON DELETE CASCADE,
    user_id       text NOT NULL,
    rank          smallint NOT NULL CHECK (rank >= 1),
    track_id      text NOT NULL,
    score         real NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (model_version, user_id, rank)
);

-- The most similar tracks of each track, per model version.
CREATE TABLE similar_tracks (
    model_version    bigint NOT NULL REFERENCES model_versions ON DELETE CASCADE,
    track_id         text NOT NULL,
    rank             smallint NOT NULL CHECK (rank >= 1),
    similar_track_id text NOT NULL,
    score            real NOT NULL,
    PRIMARY KEY (model_version, track_id, rank)
);

-- Track clusters by audio features: replaced as a whole when the catalogue changes.
CREATE TABLE track_clusters (
    cluster_id smallint PRIMARY KEY,
    label      text NOT NULL,
    size       integer NOT NULL,
    -- {"energy": 0.71, ...} in each feature's own units.
    centroid   jsonb NOT NULL,
    -- [["rock", 812], ...]: the most frequent genres.
    top_genres jsonb NOT NULL
);

-- Silhouette and inertia of every k tried; the chosen k has the best silhouette.
CREATE TABLE cluster_k_scores (
    k          smallint PRIMARY KEY,
    silhouette double precision NOT NULL,
    inertia    double precision NOT NULL,
    chosen     boolean NOT NULL
);

-- Each track's cluster and position on the 2-D map (PCA of the standardised features).
CREATE TABLE track_map (
    track_id   text PRIMARY KEY,
    cluster_id smallint NOT NULL,
    x          real NOT NULL,
    y          real NOT NULL
);

-- Listener segments by taste (the mean features of what they play).
CREATE TABLE user_segments (
    segment_id smallint PRIMARY KEY,
    label      text NOT NULL,
    size       integer NOT NULL,
    centroid   jsonb NOT NULL
);

CREATE TABLE user_segment_members (
    user_id    text PRIMARY KEY,
    segment_id smallint NOT NULL
);

-- What listeners told us: like, dislike or do-not-recommend, for a track or an artist.
CREATE TABLE feedback (
    user_id     text NOT NULL,
    target_type text NOT NULL CHECK (target_type IN ('track', 'artist')),
    target_id   text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('like', 'dislike', 'do_not_recommend')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, target_type, target_id)
);
