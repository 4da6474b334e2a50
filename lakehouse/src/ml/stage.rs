//! The pipeline's ML stage: cluster the catalogue when it changed, then evaluate the
//! recommenders on `silver/listens`, train the chosen one on every listen, and publish a new
//! model version (lists, similar tracks, metrics) and the listener segments to gold.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sqlx::PgPool;

use super::MlError;
use super::cadence::{self, Retrain};
use super::clusters::{self, ClusterOptions, TrackFeatures};
use super::datasets;
use super::evaluate::{EvalOptions, Evaluation, evaluate};
use super::interactions::Interactions;
use super::lake_data::{self, CatalogTrack, ListenData};
use super::models::History;
use super::models::content::ItemFeatures;
use super::models::item_knn::{ItemKnn, ItemKnnParams, Similarity};
use super::models::spec::ModelSpec;
use super::recommend::{Exclusions, ListMaker, ListPolicy};
use super::skip_model::{SkipMetrics, SkipModel, SkipRow};
use crate::error::{LakehouseError, Result};
use crate::gold::model_publish::{self, Evaluated, ModelVersion, SimilarList, UserList};
use crate::gold::{clusters as gold_clusters, lake_loads, recommendations};
use crate::lake::Lake;
use crate::silver;

/// Similar tracks kept per track.
pub const SIMILAR_PER_TRACK: usize = 20;
/// Listener taste segments.
pub const SEGMENTS: usize = 6;
/// Runs between two evaluations retrain the model the last evaluation chose; a new
/// evaluation happens when the interactions grew by this share since it…
pub const REEVALUATE_GROWTH: f64 = 0.2;
/// …or when it is older than this.
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
}

/// Runs the stage. `force` retrains even if gold's model reflects the current silver;
/// otherwise `retrain` says whether a change of silver is worth a new model yet.
pub async fn run(
    lake: &Lake,
    pool: &PgPool,
    run_id: Option<i64>,
    force: bool,
    retrain: Retrain,
) -> Result<MlReport> {
    let mut report = MlReport::default();
    let Some(tracks_table) = lake.existing_table(silver::tracks::TABLE).await? else {
        return Ok(report);
    };
    let tracks_version = tracks_table.version().map_or(0, |v| v as i64);
    let tracks = Arc::new(lake_data::read_tracks(lake, &tracks_table).await?);
    let clusters_behind =
        lake_loads::loaded_version(pool, gold_clusters::TARGET).await? != Some(tracks_version);
    if (force || clusters_behind)
        && let Some(n) = recluster(pool, &tracks, tracks_version).await?
    {
        report.clustered_tracks_version = Some(tracks_version);
        report.clusters = n;
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
    let data = lake_data::read_interactions(lake, &listens_table, &tracks).await?;
    if data.interactions.nnz() == 0 {
        return Ok(report);
    }
    let skip_rows = lake_data::read_skip_rows(lake, &listens_table, &data.interactions).await?;
    let labels = gold_clusters::track_labels(pool).await?;
    let exclusions = exclusions(pool, &data).await?;
    let reuse = if force {
        None
    } else {
        reusable_choice(pool, data.interactions.nnz()).await?
    };
    let earlier = reuse.as_ref().map(|(version, _)| *version);
    let trained = {
        let tracks = Arc::clone(&tracks);
        let spec = reuse.map(|(_, spec)| spec);
        tokio::task::spawn_blocking(move || {
            train(&tracks, data, &skip_rows, &labels, &exclusions, spec)
        })
        .await
        .map_err(|e| MlError::Algorithm {
            algorithm: "training",
            reason: e.to_string(),
        })??
    };
    let version = ModelVersion {
        run_id,
        model: trained.spec.name().to_owned(),
        params: trained.spec.params_json(),
        silver_version,
        users: trained.users as i64,
        items: tracks.len() as i64,
        interactions: trained.interactions as i64,
        train_secs: trained.train_secs,
        skip_metrics: trained
            .skip_metrics
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
    // One transaction: readers see the new version with its segments, or the previous one
    // with its own.
    let mut tx = pool.begin().await?;
    gold_clusters::write_segments(&mut tx, &trained.segments.0, &trained.segments.1).await?;
    let id =
        model_publish::write_version(&mut tx, &version, &trained.lists, &trained.similar).await?;
    tx.commit().await?;
    report.model_version = Some(id);
    report.evaluated = earlier.is_none();
    report.model = Some(version.model);
    report.ndcg = trained
        .evaluation
        .as_ref()
        .and_then(|e| e.chosen_result())
        .map(|m| m.test.ndcg);
    report.skip_auc = trained.skip_metrics.map(|m| m.auc);
    report.listeners = trained.lists.len();
    report.recommendations = trained.lists.iter().map(|(_, l)| l.len()).sum();
    report.similar = trained.similar.iter().map(|(_, l)| l.len()).sum();
    report.interactions = trained.interactions;
    Ok(report)
}

/// The version and model the last evaluation chose, when it is recent enough to reuse for
/// `interactions` (see [`REEVALUATE_GROWTH`], [`REEVALUATE_AFTER`]).
async fn reusable_choice(pool: &PgPool, interactions: usize) -> Result<Option<(i64, ModelSpec)>> {
    let Some((version, spec, evaluated_on, at)) = model_publish::last_evaluation(pool).await?
    else {
        return Ok(None);
    };
    let grown = interactions as f64 > evaluated_on as f64 * (1.0 + REEVALUATE_GROWTH);
    if grown || chrono::Utc::now() - at > REEVALUATE_AFTER {
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
    let clustering = tokio::task::spawn_blocking(move || {
        clusters::cluster_tracks(&input, &ClusterOptions::default())
    })
    .await
    .map_err(|e| MlError::Algorithm {
        algorithm: "clustering",
        reason: e.to_string(),
    })?;
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
/// they mostly skipped.
async fn exclusions(pool: &PgPool, data: &ListenData) -> Result<HashMap<u32, Exclusions>> {
    let mut out: HashMap<u32, Exclusions> = HashMap::new();
    for &(u, i) in &data.skipped_pairs {
        out.entry(u).or_default().tracks.insert(i);
    }
    let users = lake_data::index_of(data.interactions.user_ids());
    let items = lake_data::index_of(data.interactions.item_ids());
    for (user, target_type, target) in recommendations::all_negative_feedback(pool).await? {
        let Some(&u) = users.get(user.as_str()) else {
            continue;
        };
        let entry = out.entry(u).or_default();
        match (target_type.as_str(), items.get(target.as_str())) {
            ("track", Some(&i)) => {
                entry.tracks.insert(i);
            }
            ("artist", _) => {
                entry.artists.insert(target);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Listener segments, and each listener's segment and taste (the mean features of what they
/// play, in [`clusters::FEATURES`] order).
type Segments = (Vec<clusters::Segment>, Vec<(String, usize, [f64; 9])>);

struct Trained {
    spec: ModelSpec,
    skip_metrics: Option<SkipMetrics>,
    evaluation: Option<Evaluation>,
    lists: Vec<UserList>,
    similar: Vec<SimilarList>,
    segments: Segments,
    users: usize,
    interactions: usize,
    train_secs: f64,
}

fn train(
    tracks: &[CatalogTrack],
    data: ListenData,
    skip_rows: &[SkipRow],
    labels: &HashMap<String, String>,
    exclusions: &HashMap<u32, Exclusions>,
    chosen_earlier: Option<ModelSpec>,
) -> Result<Trained> {
    let interactions = &data.interactions;
    let standardised =
        datasets::standardise(&tracks.iter().map(|t| Some(t.features)).collect::<Vec<_>>());
    let features = ItemFeatures::from_rows(&standardised);
    let evaluation = match chosen_earlier {
        Some(_) => None,
        None => match evaluate(interactions, Some(&features), &EvalOptions::default()) {
            Ok(e) => Some(e),
            Err(MlError::NotEnoughData(why)) => {
                tracing::info!(%why, "too little history to evaluate: serving popularity");
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    let spec = chosen_earlier.unwrap_or_else(|| {
        evaluation
            .as_ref()
            .map_or(ModelSpec::Popularity, |e| e.chosen.clone())
    });
    let started = Instant::now();
    let model = spec.fit(interactions, Some(&features));
    let neighbours = ItemKnn::fit(
        interactions,
        &ItemKnnParams {
            neighbours: 50,
            similarity: Similarity::Cosine { shrink: 10.0 },
        },
    );
    let skip = match SkipModel::train(skip_rows, standardised.into_iter().flatten().collect()) {
        Ok(trained) => Some(trained),
        Err(MlError::NotEnoughData(why)) => {
            tracing::info!(%why, "no skip model this time");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let train_secs = started.elapsed().as_secs_f64();
    let item_labels: Vec<String> = tracks
        .iter()
        .map(|t| labels.get(&t.track_id).cloned().unwrap_or_default())
        .collect();
    let maker = ListMaker::new(
        model.as_ref(),
        interactions,
        tracks,
        &neighbours,
        (!labels.is_empty()).then_some(item_labels.as_slice()),
        ListPolicy::default(),
    )
    .with_skip_model(skip.as_ref().map(|(model, _)| model));
    let none = Exclusions::default();
    let lists: Vec<UserList> = (0..interactions.n_users() as u32)
        .map(|u| {
            let list = maker.list_for(u, exclusions.get(&u).unwrap_or(&none));
            let list = list
                .into_iter()
                .map(|r| (tracks[r.item as usize].track_id.clone(), r.score, r.reason))
                .collect();
            (interactions.user_id(u).to_owned(), list)
        })
        .collect();
    let similar: Vec<SimilarList> = (0..interactions.n_items() as u32)
        .filter_map(|i| {
            let list: Vec<(String, f32)> = neighbours
                .neighbours(i)
                .iter()
                .take(SIMILAR_PER_TRACK)
                .map(|&(j, s)| (tracks[j as usize].track_id.clone(), s))
                .collect();
            (!list.is_empty()).then(|| (tracks[i as usize].track_id.clone(), list))
        })
        .collect();
    let segments = segment(interactions, tracks)?;
    Ok(Trained {
        spec,
        skip_metrics: skip.map(|(_, metrics)| metrics),
        evaluation,
        users: interactions.n_users(),
        interactions: interactions.nnz(),
        lists,
        similar,
        segments,
        train_secs,
    })
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
