//! The pipeline's ML stage: cluster the catalogue when it changed, then evaluate the
//! recommenders on a sample of `silver/listens`' listeners, train the chosen one on every
//! listen, and publish a new model version (lists, similar tracks, metrics) and the listener
//! segments to gold. Lists are made in chunks of listeners and streamed to gold as they are
//! made, so memory does not grow with the number of listeners' lists.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sqlx::PgPool;

use super::cadence::{self, Retrain};
use super::ml_inputs;
use crate::error::{LakehouseError, Result};
use crate::gold::model_publish::{
    self, Evaluated, ModelVersion, SimilarList, UserList, VersionWriter,
};
use crate::gold::{clusters as gold_clusters, lake_loads, recommendations};
use crate::lake::Lake;
use crate::ml::MlError;
use crate::ml::clusters::{self, ClusterOptions, TrackFeatures};
use crate::ml::datasets;
use crate::ml::datasets::{CatalogTrack, ListenData};
use crate::ml::diversity::{Diversity, DiversityBasis, DiversitySums};
use crate::ml::evaluate::{EvalOptions, Evaluation, evaluate_newest};
use crate::ml::feedback::{Feedback, Verdict};
use crate::ml::interactions::{Interactions, index_of};
use crate::ml::models::History;
use crate::ml::models::content::ItemFeatures;
use crate::ml::models::item_knn::{ItemKnn, ItemKnnParams, Similarity};
use crate::ml::models::spec::ModelSpec;
use crate::ml::models::{Recommender, SideInfo, parallel_map};
use crate::ml::recommend::{Exclusions, ListMaker, ListPolicy};
use crate::ml::skip_model::{SkipMetrics, SkipModel, SkipRow};
use crate::ml::steps::{StepClock, StepFigures};
use crate::silver;

/// Similar tracks kept per track.
pub const SIMILAR_PER_TRACK: usize = 20;
/// Listener taste segments.
pub const SEGMENTS: usize = 6;
/// Listeners whose lists are made (over every core) and written to gold at a time.
pub const LIST_CHUNK: usize = 2_000;
/// Tracks whose similar tracks are written to gold at a time.
const SIMILAR_CHUNK: usize = 10_000;
/// The model selection runs at most once in this long (and whenever a run is forced): runs in
/// between retrain the model the last selection chose on every listen.
pub const REEVALUATE_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What the stage did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MlReport {
    /// The `silver/listens` version trained on (`None`: no listens yet).
    pub silver_version: Option<i64>,
    /// `silver/tracks` version clustered, when the clusters were recomputed.
    pub clustered_tracks_version: Option<i64>,
    pub clusters: usize,
    /// The published model version (`None`: nothing new to train on).
    pub model_version: Option<i64>,
    pub model: Option<String>,
    /// The chosen model's test NDCG@10, when this run evaluated and there was enough data.
    pub ndcg: Option<f64>,
    /// `false` when the run retrained the model an earlier evaluation chose.
    pub evaluated: bool,
    /// The skip model's held-out AUC, when it was trained.
    pub skip_auc: Option<f64>,
    pub listeners: usize,
    pub recommendations: usize,
    pub similar: usize,
    pub interactions: usize,
    /// Why the model was not retrained although silver changed (the retrain policy).
    pub deferred: Option<String>,
    /// How varied the published lists are.
    pub diversity: Option<Diversity>,
    /// Each step's time and peak memory.
    pub steps: Vec<StepFigures>,
}

/// How the stage runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageOptions {
    /// The pipeline run it belongs to.
    pub run_id: Option<i64>,
    /// Retrain even if gold's model reflects the current silver.
    pub force: bool,
    /// Otherwise, whether a change of silver is worth a new model yet.
    pub retrain: Retrain,
    /// A drill: fail after the first chunk of lists was written to gold.
    pub fail_mid_publish: bool,
}

/// Runs the stage.
pub async fn run(lake: &Lake, pool: &PgPool, options: StageOptions) -> Result<MlReport> {
    let mut clock = StepClock::new();
    let mut report = run_steps(lake, pool, options, &mut clock).await?;
    report.steps = clock.finish();
    Ok(report)
}

async fn run_steps(
    lake: &Lake,
    pool: &PgPool,
    options: StageOptions,
    clock: &mut StepClock,
) -> Result<MlReport> {
    let StageOptions {
        run_id,
        force,
        retrain,
        ..
    } = options;
    let mut report = MlReport::default();
    let Some(tracks_table) = lake.existing_table(silver::tracks::TABLE).await? else {
        return Ok(report);
    };
    let tracks_version = tracks_table.version().map_or(0, |v| v as i64);
    // The catalogue is read only when something is to be computed from it: a scheduled run
    // with nothing new leaves without reading it.
    let mut tracks: Option<Arc<Vec<CatalogTrack>>> = None;
    let clusters_behind =
        lake_loads::loaded_version(pool, gold_clusters::TARGET).await? != Some(tracks_version);
    if force || clusters_behind {
        clock.start("clusters");
        let read = Arc::new(ml_inputs::read_tracks(lake, &tracks_table).await?);
        let clustered = recluster(pool, tracks.insert(read), tracks_version).await?;
        if let Some(n) = clustered {
            report.clustered_tracks_version = Some(tracks_version);
            report.clusters = n;
        }
        clock.stop();
    }
    let Some(listens_table) = lake.existing_table(silver::listens::TABLE).await? else {
        return Ok(report);
    };
    let silver_version = listens_table.version().map_or(0, |v| v as i64);
    report.silver_version = Some(silver_version);
    if !force
        && lake_loads::loaded_version(pool, model_publish::TARGET).await? == Some(silver_version)
    {
        return Ok(report);
    }
    if !force && let Some(why) = cadence::deferral(lake, &listens_table, pool, retrain).await? {
        report.deferred = Some(why);
        return Ok(report);
    }
    clock.start("interactions");
    let tracks = match tracks {
        Some(tracks) => tracks,
        None => Arc::new(ml_inputs::read_tracks(lake, &tracks_table).await?),
    };
    let data = ml_inputs::read_interactions(lake, &listens_table, &tracks).await?;
    if data.interactions.nnz() == 0 {
        return Ok(report);
    }
    let skip_rows = ml_inputs::read_skip_rows(lake, &listens_table, &data.interactions).await?;
    let labels = gold_clusters::track_labels(pool).await?;
    let (exclusions, feedback) = listeners_word(pool, &data).await?;
    let reuse = if force {
        None
    } else {
        reusable_choice(pool).await?
    };
    clock.stop();
    let earlier = reuse.as_ref().map(|(version, _)| *version);
    let trained = {
        let tracks = Arc::clone(&tracks);
        let spec = reuse.map(|(_, spec)| spec);
        blocking("training", move || {
            train(
                tracks, data, feedback, &skip_rows, &labels, exclusions, spec,
            )
        })
        .await??
    };
    clock.extend(trained.steps.clone());
    let version = ModelVersion {
        run_id,
        model: trained.spec.name().to_owned(),
        params: trained.spec.params_json(),
        silver_version,
        users: trained.data.n_users() as i64,
        items: tracks.len() as i64,
        interactions: trained.data.nnz() as i64,
        train_secs: trained.train_secs,
        // A figure that is no number (too few skips to measure) would be stored as a JSON
        // null no reader takes: the record is left out, as unmeasured.
        skip_metrics: trained
            .skip_metrics
            .filter(SkipMetrics::is_finite)
            .and_then(|m| serde_json::to_value(m).ok()),
        spec: serde_json::to_value(&trained.spec).unwrap_or_default(),
        evaluation: match (earlier, &trained.evaluation) {
            (Some(version), _) => Evaluated::Earlier(version),
            (None, evaluation) => Evaluated::Now {
                metrics: evaluation
                    .as_ref()
                    .map(|e| e.models.clone())
                    .unwrap_or_default(),
                test_users: evaluation.as_ref().map_or(0, |e| e.test_users as i64),
            },
        },
    };
    report.evaluated = earlier.is_none();
    report.model = Some(version.model.clone());
    report.ndcg = trained
        .evaluation
        .as_ref()
        .and_then(|e| e.chosen_result())
        .map(|m| m.test.ndcg);
    report.skip_auc = trained.skip_metrics.map(|m| m.auc);
    report.interactions = trained.data.nnz();
    // One transaction: readers see the new version with its segments, or the previous one
    // with its own.
    clock.start("lists");
    let mut tx = pool.begin().await?;
    gold_clusters::write_segments(&mut tx, &trained.segments.0, &trained.segments.1).await?;
    let mut writer = VersionWriter::begin(&mut tx, &version).await?;
    let trained = Arc::new(trained);
    let (listeners, recommendations, sums) =
        stream_lists(&trained, &mut writer, &mut tx, options.fail_mid_publish).await?;
    let diversity = trained.diversity.figures(&sums);
    clock.start("publish");
    let mut similar = 0;
    let items: Vec<u32> = (0..trained.data.n_items() as u32).collect();
    for chunk in items.chunks(SIMILAR_CHUNK) {
        let lists = trained.similar_lists(chunk);
        similar += lists.iter().map(|(_, l)| l.len()).sum::<usize>();
        writer.write_similar(&mut tx, &lists).await?;
    }
    let recorded = diversity
        .is_finite()
        .then(|| serde_json::to_value(diversity).ok())
        .flatten();
    let id = writer.finish(&mut tx, recorded.as_ref()).await?;
    tx.commit().await?;
    clock.stop();
    report.model_version = Some(id);
    report.listeners = listeners;
    report.recommendations = recommendations;
    report.similar = similar;
    report.diversity = Some(diversity);
    Ok(report)
}

/// Makes every listener's list, [`LIST_CHUNK`] listeners at a time over every core, and writes
/// each chunk to gold while the next is made. Returns (listeners, recommendations) and the
/// lists' diversity sums.
async fn stream_lists(
    trained: &Arc<Trained>,
    writer: &mut VersionWriter,
    tx: &mut sqlx::PgConnection,
    fail_mid_publish: bool,
) -> Result<(usize, usize, DiversitySums)> {
    let (sender, mut chunks) = tokio::sync::mpsc::channel::<Vec<UserList>>(2);
    let maker = {
        let trained = Arc::clone(trained);
        blocking("lists", move || {
            let maker = trained.list_maker();
            let users: Vec<u32> = (0..trained.data.n_users() as u32).collect();
            let mut sums = DiversitySums::default();
            for chunk in users.chunks(LIST_CHUNK) {
                let (lists, measured): (Vec<UserList>, Vec<DiversitySums>) =
                    parallel_map(chunk, |&u, _: &mut ()| trained.list_of(&maker, u))
                        .into_iter()
                        .unzip();
                measured.iter().for_each(|m| sums.add(m));
                if sender.blocking_send(lists).is_err() {
                    // The writer stopped (its transaction failed): no one needs the rest.
                    break;
                }
            }
            sums
        })
    };
    let (mut listeners, mut recommendations) = (0, 0);
    while let Some(lists) = chunks.recv().await {
        writer.write_lists(tx, &lists).await?;
        listeners += lists.len();
        recommendations += lists.iter().map(|(_, l)| l.len()).sum::<usize>();
        if fail_mid_publish {
            return Err(LakehouseError::InjectedFailure(
                "ml: after the first chunk of lists".into(),
            ));
        }
    }
    let sums = maker.await?;
    Ok((listeners, recommendations, sums))
}

/// Starts `work` on a thread for blocking work now; the future answers its result, a panic in
/// it becoming an error.
fn blocking<T: Send + 'static>(
    algorithm: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = std::result::Result<T, MlError>> {
    let running = tokio::task::spawn_blocking(work);
    async move {
        running.await.map_err(|e| MlError::Algorithm {
            algorithm,
            reason: e.to_string(),
        })
    }
}

/// The version and model the last evaluation chose, when it is recent enough to reuse (see
/// [`REEVALUATE_AFTER`]).
async fn reusable_choice(pool: &PgPool) -> Result<Option<(i64, ModelSpec)>> {
    let Some((version, spec, at)) = model_publish::last_evaluation(pool).await? else {
        return Ok(None);
    };
    if chrono::Utc::now() - at > REEVALUATE_AFTER {
        return Ok(None);
    }
    // A specification this build cannot read (an older format) means evaluating again.
    Ok(serde_json::from_str(&spec).ok().map(|spec| (version, spec)))
}

async fn recluster(
    pool: &PgPool,
    tracks: &Arc<Vec<CatalogTrack>>,
    version: i64,
) -> Result<Option<usize>> {
    let input: Vec<TrackFeatures> = tracks
        .iter()
        .map(|t| TrackFeatures {
            track_id: t.track_id.clone(),
            genres: t.genres.clone(),
            values: t.features,
        })
        .collect();
    let clustering = blocking("clustering", move || {
        clusters::cluster_tracks(&input, &ClusterOptions::default())
    })
    .await?;
    let clustering = match clustering {
        Ok(c) => c,
        Err(MlError::NotEnoughData(why)) => {
            // Recorded as done, so runs do not retry until the catalogue changes.
            tracing::info!(%why, "too few tracks to cluster");
            let mut conn = pool.acquire().await?;
            let source = silver::tracks::TABLE.qualified();
            lake_loads::record_load(&mut conn, gold_clusters::TARGET, &source, version, 0).await?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let ids: Vec<String> = tracks.iter().map(|t| t.track_id.clone()).collect();
    gold_clusters::publish_clusters(pool, &ids, &clustering, version).await?;
    Ok(Some(clustering.clusters.len()))
}

/// Per listener: the tracks and artists they disliked or asked never to see, and the tracks
/// they mostly skipped; and their likes and dislikes of tracks, the training signal.
async fn listeners_word(
    pool: &PgPool,
    data: &ListenData,
) -> Result<(HashMap<u32, Exclusions>, Feedback)> {
    let mut out: HashMap<u32, Exclusions> = HashMap::new();
    for &(u, i) in &data.skipped_pairs {
        out.entry(u).or_default().tracks.insert(i);
    }
    let users = index_of(data.interactions.user_ids());
    let items = index_of(data.interactions.item_ids());
    let mut verdicts = Vec::new();
    for (user, target_type, target, kind) in recommendations::all_feedback(pool).await? {
        let Some(&u) = users.get(user.as_str()) else {
            continue;
        };
        match (
            target_type.as_str(),
            kind.as_str(),
            items.get(target.as_str()),
        ) {
            ("track", "like", Some(&i)) => verdicts.push((u, i, Verdict::Like)),
            ("track", "dislike", Some(&i)) => {
                verdicts.push((u, i, Verdict::Dislike));
                out.entry(u).or_default().tracks.insert(i);
            }
            ("track", "do_not_recommend", Some(&i)) => {
                out.entry(u).or_default().tracks.insert(i);
            }
            ("artist", "dislike" | "do_not_recommend", _) => {
                out.entry(u).or_default().artists.insert(target);
            }
            _ => {}
        }
    }
    Ok((out, Feedback::new(verdicts)))
}

/// Listener segments, and each listener's segment and taste (the mean features of what they
/// play, in [`clusters::FEATURES`] order).
type Segments = (Vec<clusters::Segment>, Vec<(String, usize, [f64; 9])>);

/// A trained model with everything lists are made from.
struct Trained {
    spec: ModelSpec,
    model: Arc<dyn Recommender>,
    neighbours: ItemKnn,
    skip: Option<SkipModel>,
    skip_metrics: Option<SkipMetrics>,
    evaluation: Option<Evaluation>,
    segments: Segments,
    data: Interactions,
    tracks: Arc<Vec<CatalogTrack>>,
    /// Each item's cluster label, when the catalogue is clustered.
    item_labels: Option<Vec<String>>,
    exclusions: HashMap<u32, Exclusions>,
    diversity: DiversityBasis,
    train_secs: f64,
    steps: Vec<StepFigures>,
}

impl Trained {
    fn list_maker(&self) -> ListMaker<'_> {
        ListMaker::new(
            self.model.as_ref(),
            &self.data,
            &self.tracks,
            &self.neighbours,
            self.item_labels.as_deref(),
            ListPolicy::default(),
        )
        .with_skip_model(self.skip.as_ref())
    }

    /// Listener `u`'s list, and its diversity.
    fn list_of(&self, maker: &ListMaker<'_>, u: u32) -> (UserList, DiversitySums) {
        let none = Exclusions::default();
        let list = maker.list_for(u, self.exclusions.get(&u).unwrap_or(&none));
        let items: Vec<u32> = list.iter().map(|r| r.item).collect();
        let list = list
            .into_iter()
            .map(|r| {
                (
                    self.tracks[r.item as usize].track_id.clone(),
                    r.score,
                    r.reason,
                )
            })
            .collect();
        (
            (self.data.user_id(u).to_owned(), list),
            self.diversity.measure(&items),
        )
    }

    fn similar_lists(&self, items: &[u32]) -> Vec<SimilarList> {
        items
            .iter()
            .filter_map(|&i| {
                let list: Vec<(String, f32)> = self
                    .neighbours
                    .neighbours(i)
                    .iter()
                    .take(SIMILAR_PER_TRACK)
                    .map(|&(j, s)| (self.tracks[j as usize].track_id.clone(), s))
                    .collect();
                (!list.is_empty()).then(|| (self.tracks[i as usize].track_id.clone(), list))
            })
            .collect()
    }
}

fn train(
    tracks: Arc<Vec<CatalogTrack>>,
    data: ListenData,
    feedback: Feedback,
    skip_rows: &[SkipRow],
    labels: &HashMap<String, String>,
    exclusions: HashMap<u32, Exclusions>,
    chosen_earlier: Option<ModelSpec>,
) -> Result<Trained> {
    let mut clock = StepClock::new();
    let ListenData {
        interactions,
        first_plays,
        ..
    } = data;
    let standardised =
        datasets::standardise(&tracks.iter().map(|t| Some(t.features)).collect::<Vec<_>>());
    let features = ItemFeatures::from_rows(&standardised);
    let diversity = diversity_basis(&tracks, &standardised, &interactions);
    let evaluation = match chosen_earlier {
        Some(_) => None,
        None => {
            clock.start("evaluation");
            let options = EvalOptions::default();
            match evaluate_newest(
                &interactions,
                &first_plays,
                &feedback,
                Some(&features),
                &options,
            ) {
                Ok(e) => Some(e),
                Err(MlError::NotEnoughData(why)) => {
                    tracing::info!(%why, "too little history to evaluate: serving popularity");
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    drop(first_plays);
    let spec = chosen_earlier.unwrap_or_else(|| {
        evaluation
            .as_ref()
            .map_or(ModelSpec::Popularity, |e| e.chosen.clone())
    });
    clock.start("training");
    let started = Instant::now();
    let likes = Arc::new(feedback.likes(&interactions, &HashSet::new()));
    let interactions = feedback.apply(interactions, &HashSet::new());
    let side = SideInfo {
        features: Some(&features),
        likes: Some(&likes),
        ..SideInfo::default()
    };
    let model = spec.fit(&interactions, side);
    clock.start("similar tracks");
    let neighbours = ItemKnn::fit(
        &interactions,
        &ItemKnnParams {
            neighbours: 50,
            similarity: Similarity::Cosine { shrink: 10.0 },
        },
    );
    clock.start("skip model");
    let skip = match SkipModel::train(skip_rows, standardised.into_iter().flatten().collect()) {
        Ok(trained) => Some(trained),
        Err(MlError::NotEnoughData(why)) => {
            tracing::info!(%why, "no skip model this time");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let train_secs = started.elapsed().as_secs_f64();
    clock.start("segments");
    let segments = segment(&interactions, &tracks)?;
    let item_labels = (!labels.is_empty()).then(|| {
        tracks
            .iter()
            .map(|t| labels.get(&t.track_id).cloned().unwrap_or_default())
            .collect()
    });
    let (skip, skip_metrics) = skip.map_or((None, None), |(m, metrics)| (Some(m), Some(metrics)));
    Ok(Trained {
        spec,
        model,
        neighbours,
        skip,
        skip_metrics,
        evaluation,
        segments,
        data: interactions,
        tracks,
        item_labels,
        exclusions,
        diversity,
        train_secs,
        steps: clock.finish(),
    })
}

/// What the lists' diversity is measured against: standardised features, primary artists and
/// each track's listeners.
fn diversity_basis(
    tracks: &[CatalogTrack],
    standardised: &[Option<[f64; 9]>],
    data: &Interactions,
) -> DiversityBasis {
    let mut artist_ids: HashMap<&str, u32> = HashMap::new();
    let artists = tracks
        .iter()
        .map(|t| {
            let next = artist_ids.len() as u32;
            *artist_ids.entry(t.primary_artist.as_str()).or_insert(next)
        })
        .collect();
    let features = standardised.iter().map(|f| f.unwrap_or([0.0; 9])).collect();
    DiversityBasis::new(features, artists, &data.item_counts())
}

/// Listener segments over the play-weighted mean features of what each listener plays.
fn segment(data: &Interactions, tracks: &[CatalogTrack]) -> Result<Segments> {
    let mut users = Vec::new();
    let mut tastes = Vec::new();
    for u in 0..data.n_users() as u32 {
        let history = History::of(data, u);
        let total: f32 = history.weights.iter().sum();
        if total <= 0.0 {
            continue;
        }
        let mut taste = [0f64; 9];
        for (i, w) in history.iter() {
            for (t, x) in taste.iter_mut().zip(tracks[i as usize].features) {
                *t += f64::from(w) * x / f64::from(total);
            }
        }
        users.push(data.user_id(u).to_owned());
        tastes.push(taste);
    }
    if users.len() < 2 {
        return Ok((Vec::new(), Vec::new()));
    }
    let segments = clusters::segment_users(&tastes, SEGMENTS, 42).map_err(LakehouseError::from)?;
    let members = users
        .into_iter()
        .zip(segments.assignments)
        .zip(tastes)
        .map(|((user, segment), taste)| (user, segment, taste))
        .collect();
    Ok((segments.segments, members))
}
