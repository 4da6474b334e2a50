//! Live recommendations: the current model version's list for a listener, re-ranked as they
//! listen (see `lakehouse::ml::rerank`). A listen marks the listener's list stale; it is
//! re-ranked at once when someone follows the list (server-sent events), else on the next
//! read. Feedback applies immediately.
//!
//! The state kept per listener is bounded: at most [`MAX_STATE_BYTES`] in all (each listener
//! weighed by what their lists, plays and feedback hold), the least recently used dropped
//! first, and none kept after [`IDLE`] without use. A plain read of a listener the model does
//! not know, who has no feedback and no play since the server started, keeps nothing and costs
//! one query: they get the current version's popular list, made once per version.
//!
//! Several instances on one database keep their own state and tell each other what changes it
//! ([`signal`]): a listener followed on one instance sees their list move when they play on
//! another.

pub mod signal;
mod weight;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lakehouse::gold::clusters as gold_clusters;
use lakehouse::gold::lake_loads;
use lakehouse::gold::recommendations::{self, FeedbackRow, RecommendationRow};
use lakehouse::ml::rerank::{self, BaseItem, Session, TrackInfo};
use moka::ops::compute::Op;
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::broadcast;

/// How many recent plays steer a session.
const SESSION_LENGTH: usize = 10;
/// The list's length.
const LIST_SIZE: usize = 50;
const MAX_PER_ARTIST: usize = 3;
/// Similar tracks per recent track when they come from the sound (no listener neighbours).
const SIMILAR_PER_TRACK: usize = lakehouse::pipeline::ml_stage::SIMILAR_PER_TRACK;

/// A listener's list as served.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LiveList {
    pub user_id: String,
    /// The model version the base list comes from (`None`: no model published yet).
    pub model_version: Option<i64>,
    /// `true` when the listener's session moved the list since the model was published.
    pub reranked: bool,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<LiveItem>,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LiveItem {
    pub rank: usize,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub score: f32,
    pub reason: String,
}

#[derive(Default)]
struct UserState {
    /// Tracks played (or liked) and when, latest first.
    recent: VecDeque<(String, DateTime<Utc>)>,
    stale: bool,
    list: Option<Arc<LiveList>>,
    /// The model version's list for this listener, as published (read once per version).
    base: Option<(i64, Arc<Vec<RecommendationRow>>)>,
    /// The listener's feedback (read once, then kept up to date by `feedback`).
    feedback: Option<Arc<Vec<FeedbackRow>>>,
    sender: Option<broadcast::Sender<Arc<LiveList>>>,
}

/// Tracks that sound like a track, found once per version of the clusters they come from
/// (the `silver/tracks` version gold's clusters were made of).
type SoundCache = HashMap<(Option<i64>, String), Arc<Vec<(String, f32)>>>;

/// Sound neighbours kept at most; the cache starts over beyond.
const SOUND_CACHE_SIZE: usize = 10_000;

/// The most bytes the listeners' kept state may hold, all together.
pub const MAX_STATE_BYTES: u64 = 256 << 20;
/// A listener's state unused for this long is dropped.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// The state of one listener, shared by the requests that read or change it.
type SharedState = Arc<Mutex<UserState>>;

/// The live lists of the listeners seen recently.
#[derive(Clone)]
pub struct LiveRecommendations {
    pool: PgPool,
    users: moka::sync::Cache<String, SharedState>,
    /// The popular list of a model version, for listeners it does not know.
    popular: Arc<Mutex<Option<Arc<LiveList>>>>,
    sounds: Arc<Mutex<SoundCache>>,
    /// Where listens and feedback are told to the other instances (`None`: one instance).
    signal: Option<signal::Signal>,
}

fn lock(state: &SharedState) -> std::sync::MutexGuard<'_, UserState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LiveRecommendations {
    pub fn new(pool: PgPool) -> Self {
        Self::bounded(pool, MAX_STATE_BYTES, IDLE)
    }

    /// Keeps at most `bytes` of listeners' state, each listener's for at most `idle` unused.
    pub fn bounded(pool: PgPool, bytes: u64, idle: Duration) -> Self {
        Self {
            pool,
            users: moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|user: &String, state: &SharedState| weight::of(user, &lock(state)))
                .time_to_idle(idle)
                .build(),
            popular: Arc::default(),
            sounds: Arc::default(),
            signal: None,
        }
    }

    /// The lists of an instance that shares the database with others: what changes a list
    /// here is told to them, and what they tell changes the lists here.
    pub fn shared(pool: PgPool) -> Self {
        let local = Self::new(pool.clone());
        let signal = signal::Signal::start(pool.clone());
        let receiving = local.clone();
        signal::spawn_receiver(pool, signal.instance(), move |message| {
            receiving.apply(message)
        });
        Self {
            signal: Some(signal),
            ..local
        }
    }

    /// What another instance told.
    fn apply(&self, message: signal::Message) {
        match message {
            signal::Message::Listens { listens } => self.played(listens),
            signal::Message::Feedback { user, liked_track } => {
                self.feedback_changed(&user, liked_track);
                if self.followers(&user) > 0 {
                    self.spawn_refresh(user);
                }
            }
        }
    }

    /// How many listeners' state is kept now.
    pub fn listeners_kept(&self) -> u64 {
        self.users.run_pending_tasks();
        self.users.entry_count()
    }

    /// How many bytes the kept state holds now, as [`weight`] counts them.
    pub fn bytes_kept(&self) -> u64 {
        self.users.run_pending_tasks();
        self.users.weighted_size()
    }

    /// Weighs `user`'s state again after it grew (the cache weighs a value when it is put in),
    /// unless it is no longer the state kept for them (dropped meanwhile, or replaced).
    fn reweigh(&self, user: &str, shared: &SharedState) {
        self.users
            .entry_by_ref(user)
            .and_compute_with(|kept| match kept {
                Some(kept) if Arc::ptr_eq(kept.value(), shared) => Op::Put(Arc::clone(shared)),
                _ => Op::Nop,
            });
    }

    /// The state of `user`, created if there is none.
    fn state(&self, user: &str) -> SharedState {
        self.users.get_with_by_ref(user, SharedState::default)
    }

    /// The tracks that sound like `track` in the clusters of `clusters_version`, from the
    /// cache or from gold.
    async fn sounding_like(
        &self,
        clusters_version: Option<i64>,
        track: &str,
    ) -> Result<Arc<Vec<(String, f32)>>, lakehouse::LakehouseError> {
        let key = (clusters_version, track.to_owned());
        let cached = self
            .sounds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .cloned();
        if let Some(found) = cached {
            return Ok(found);
        }
        let found = Arc::new(
            recommendations::similar_by_sound(&self.pool, track, SIMILAR_PER_TRACK as i64).await?,
        );
        if found.is_empty() {
            // Not on the map (yet): ask again next time.
            return Ok(found);
        }
        let mut sounds = self
            .sounds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if sounds.len() >= SOUND_CACHE_SIZE {
            sounds.clear();
        }
        sounds.insert(key, Arc::clone(&found));
        Ok(found)
    }

    /// Accepted listens (listener, track), in the order played: marks the lists stale and
    /// re-ranks at once the lists someone follows, here and on the other instances.
    pub fn on_listens(&self, listens: Vec<(String, String)>) {
        if let Some(signal) = &self.signal {
            signal.send(signal::Message::Listens {
                listens: listens.clone(),
            });
        }
        self.played(listens);
    }

    /// Listens accepted here or elsewhere: marks the lists stale and re-ranks at once the
    /// lists someone follows here.
    fn played(&self, listens: Vec<(String, String)>) {
        let mut followed = HashSet::new();
        for (user, track) in listens {
            let shared = self.state(&user);
            let mut state = lock(&shared);
            remember(&mut state.recent, track);
            state.stale = true;
            if state
                .sender
                .as_ref()
                .is_some_and(|s| s.receiver_count() > 0)
            {
                followed.insert(user);
            }
        }
        for user in followed {
            self.spawn_refresh(user);
        }
    }

    /// Re-ranks `user`'s list in the background.
    fn spawn_refresh(&self, user: String) {
        let live = self.clone();
        tokio::spawn(async move {
            if let Err(error) = live.refresh(&user).await {
                tracing::warn!(%user, %error, "re-ranking failed");
            }
        });
    }

    /// Follows a listener's list: every new version of it.
    pub fn subscribe(&self, user: &str) -> broadcast::Receiver<Arc<LiveList>> {
        let shared = self.state(user);
        let mut state = lock(&shared);
        state
            .sender
            .get_or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    /// How many followers of `user`'s list are still subscribed.
    pub fn followers(&self, user: &str) -> usize {
        self.users.get(user).map_or(0, |shared| {
            lock(&shared)
                .sender
                .as_ref()
                .map_or(0, broadcast::Sender::receiver_count)
        })
    }

    /// The listener's current list, re-ranked first if a listen made it stale or a new model
    /// version was published.
    pub async fn list(&self, user: &str) -> Result<Arc<LiveList>, lakehouse::LakehouseError> {
        let Some(shared) = self.users.get(user) else {
            return self.first_read(user).await;
        };
        let model = recommendations::current_model(&self.pool).await?;
        let version = model.map(|(v, _)| v);
        let cached = {
            let state = lock(&shared);
            state
                .list
                .clone()
                .filter(|l| !state.stale && l.model_version == version)
        };
        match cached {
            Some(list) => Ok(list),
            None => self.refresh_for(user, model).await,
        }
    }

    /// The list of a listener with no state kept: the popular list, keeping nothing, when the
    /// model does not know them and they gave no feedback; else their list, kept.
    async fn first_read(&self, user: &str) -> Result<Arc<LiveList>, lakehouse::LakehouseError> {
        let Some((version, learnt_until, known)) =
            recommendations::current_model_knowing(&self.pool, user).await?
        else {
            return Ok(Arc::new(self.compute(user, None).await?));
        };
        if known {
            return self.refresh_for(user, Some((version, learnt_until))).await;
        }
        let popular = self
            .popular
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .filter(|l| l.model_version == Some(version));
        let popular = match popular {
            Some(popular) => popular,
            None => {
                // Re-ranked for nobody: the popular list as the version published it.
                let list = Arc::new(self.compute_popular(version).await?);
                *self
                    .popular
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::clone(&list));
                list
            }
        };
        Ok(Arc::new(LiveList {
            user_id: user.to_owned(),
            ..popular.as_ref().clone()
        }))
    }

    /// Records feedback and re-ranks the listener's list with it.
    pub async fn feedback(
        &self,
        user: &str,
        feedback: &FeedbackRow,
    ) -> Result<Arc<LiveList>, lakehouse::LakehouseError> {
        recommendations::record_feedback(&self.pool, user, feedback).await?;
        let liked_track = (feedback.kind == "like" && feedback.target_type == "track")
            .then(|| feedback.target_id.clone());
        if let Some(signal) = &self.signal {
            signal.send(signal::Message::Feedback {
                user: user.to_owned(),
                liked_track: liked_track.clone(),
            });
        }
        self.feedback_changed(user, liked_track);
        self.refresh(user).await
    }

    /// Forgets the feedback read for `user` (it changed); a liked track joins the session.
    fn feedback_changed(&self, user: &str, liked_track: Option<String>) {
        let shared = self.state(user);
        let mut state = lock(&shared);
        state.feedback = None;
        state.stale = true;
        if let Some(track) = liked_track {
            remember(&mut state.recent, track);
        }
    }

    /// Re-ranks the listener's list now, stores it and tells its followers.
    pub async fn refresh(&self, user: &str) -> Result<Arc<LiveList>, lakehouse::LakehouseError> {
        let model = recommendations::current_model(&self.pool).await?;
        self.refresh_for(user, model).await
    }

    async fn refresh_for(
        &self,
        user: &str,
        model: Option<(i64, DateTime<Utc>)>,
    ) -> Result<Arc<LiveList>, lakehouse::LakehouseError> {
        let list = Arc::new(self.compute(user, model).await?);
        let shared = self.state(user);
        {
            let mut state = lock(&shared);
            state.stale = false;
            state.list = Some(Arc::clone(&list));
            if let Some(sender) = &state.sender {
                let _ = sender.send(Arc::clone(&list));
            }
        }
        self.reweigh(user, &shared);
        Ok(list)
    }

    /// The listener's list re-ranked over `model` (the current version and when its run
    /// started).
    async fn compute(
        &self,
        user: &str,
        model: Option<(i64, DateTime<Utc>)>,
    ) -> Result<LiveList, lakehouse::LakehouseError> {
        let Some((version, learnt_until)) = model else {
            return Ok(LiveList {
                user_id: user.to_owned(),
                model_version: None,
                reranked: false,
                updated_at: Utc::now(),
                items: Vec::new(),
            });
        };
        let (base, feedback) = self.base_and_feedback(user, version).await?;
        let recent: Vec<String> = {
            let shared = self.state(user);
            let mut state = lock(&shared);
            // Plays from before the model's run are in the model already: the session is what
            // came after.
            state.recent.retain(|(_, at)| *at >= learnt_until);
            state.recent.iter().map(|(t, _)| t.clone()).collect()
        };
        self.ranked(user, version, &base, &feedback, recent).await
    }

    /// The popular list of model `version`, for listeners it does not know.
    async fn compute_popular(&self, version: i64) -> Result<LiveList, lakehouse::LakehouseError> {
        let base = recommendations::popular_list(&self.pool, LIST_SIZE as i64).await?;
        self.ranked("", version, &base, &[], Vec::new()).await
    }

    /// `base` re-ranked by the session's `recent` plays and the listener's `feedback`.
    async fn ranked(
        &self,
        user: &str,
        version: i64,
        base: &[RecommendationRow],
        feedback: &[FeedbackRow],
        recent: Vec<String>,
    ) -> Result<LiveList, lakehouse::LakehouseError> {
        let pool = &self.pool;
        let mut similar = recommendations::similar_of_many(pool, version, &recent).await?;
        let unmatched: Vec<&String> = recent
            .iter()
            .filter(|t| !similar.contains_key(*t))
            .collect();
        if !unmatched.is_empty() {
            // The model has no similar tracks for these (say, nobody had played them before
            // its run): what sounds like them instead.
            let clusters = lake_loads::loaded_version(pool, gold_clusters::TARGET).await?;
            for track in unmatched {
                let by_sound = self.sounding_like(clusters, track).await?;
                similar.insert(track.clone(), by_sound.as_ref().clone());
            }
        }
        let mut ids: Vec<String> = base.iter().map(|b| b.track_id.clone()).collect();
        ids.extend(recent.iter().cloned());
        ids.extend(similar.values().flatten().map(|(t, _)| t.clone()));
        ids.sort();
        ids.dedup();
        let rows = recommendations::track_features(pool, &ids).await?;
        let artists: HashMap<String, Vec<String>> = rows
            .iter()
            .map(|r| (r.track_id.clone(), r.artists.clone()))
            .collect();
        let tracks: HashMap<String, TrackInfo> = rows
            .into_iter()
            .map(|r| {
                let info = TrackInfo {
                    primary_artist: r.artists.first().cloned().unwrap_or_default(),
                    features: rerank::scaled_features(r.features()),
                    name: r.name,
                };
                (r.track_id, info)
            })
            .collect();
        let mut excluded_tracks = HashSet::new();
        let mut excluded_artists = HashSet::new();
        for f in feedback.iter().filter(|f| f.kind != "like") {
            match f.target_type.as_str() {
                "track" => excluded_tracks.insert(f.target_id.clone()),
                _ => excluded_artists.insert(f.target_id.clone()),
            };
        }
        let base_items: Vec<BaseItem> = base
            .iter()
            .map(|b| BaseItem {
                track_id: b.track_id.clone(),
                reason: b.reason.clone(),
            })
            .collect();
        let ranked = rerank::rerank(&Session {
            base: &base_items,
            recent: &recent,
            similar: &similar,
            tracks: &tracks,
            excluded_tracks: &excluded_tracks,
            excluded_artists: &excluded_artists,
            size: LIST_SIZE,
            max_per_artist: MAX_PER_ARTIST,
        });
        let items = ranked
            .into_iter()
            .enumerate()
            .map(|(i, r)| LiveItem {
                rank: i + 1,
                name: tracks
                    .get(&r.track_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                artists: artists.get(&r.track_id).cloned().unwrap_or_default(),
                track_id: r.track_id,
                score: r.score,
                reason: r.reason,
            })
            .collect();
        Ok(LiveList {
            user_id: user.to_owned(),
            model_version: Some(version),
            reranked: !recent.is_empty()
                || !excluded_tracks.is_empty()
                || !excluded_artists.is_empty(),
            updated_at: Utc::now(),
            items,
        })
    }
}

impl LiveRecommendations {
    /// The listener's published list for `version` (the popular list when the model does not
    /// know them) and their feedback, from the cache or from gold.
    async fn base_and_feedback(
        &self,
        user: &str,
        version: i64,
    ) -> Result<(Arc<Vec<RecommendationRow>>, Arc<Vec<FeedbackRow>>), lakehouse::LakehouseError>
    {
        let (base, feedback) = match self.users.get(user) {
            Some(shared) => {
                let state = lock(&shared);
                (
                    state
                        .base
                        .clone()
                        .filter(|(v, _)| *v == version)
                        .map(|(_, b)| b),
                    state.feedback.clone(),
                )
            }
            None => (None, None),
        };
        let base = match base {
            Some(base) => base,
            None => {
                let mut rows =
                    recommendations::version_list(&self.pool, version, user, LIST_SIZE as i64)
                        .await?;
                if rows.is_empty() {
                    // A listener the model does not know yet: start from what is popular.
                    rows = recommendations::popular_list(&self.pool, LIST_SIZE as i64).await?;
                }
                Arc::new(rows)
            }
        };
        let feedback = match feedback {
            Some(feedback) => feedback,
            None => Arc::new(recommendations::feedback_of(&self.pool, user).await?),
        };
        // Weighed again by `refresh_for`, the one caller, once the list is kept too.
        let shared = self.state(user);
        let mut state = lock(&shared);
        state.base = Some((version, Arc::clone(&base)));
        state.feedback = Some(Arc::clone(&feedback));
        Ok((base, feedback))
    }
}

fn remember(recent: &mut VecDeque<(String, DateTime<Utc>)>, track: String) {
    recent.retain(|(t, _)| *t != track);
    recent.push_front((track, Utc::now()));
    recent.truncate(SESSION_LENGTH);
}
