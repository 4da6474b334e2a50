//! The stages of a run, in order, and what each records.

use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use super::{RunOptions, StageOutcome};
use crate::error::{LakehouseError, Result};
use crate::gold::{lake_loads, marts};
use crate::lake::Lake;
use crate::maintenance::{self, MaintenancePolicy};
use crate::{bronze, silver};

/// A pipeline stage. The ML stage slots in after `gold_marts` the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// `bronze/tracks` → `silver/tracks` (+ quarantine).
    SilverTracks,
    /// New `bronze/listens` → `silver/listens` (+ quarantine).
    SilverListens,
    /// `silver/tracks` → gold `tracks`, `genres`.
    GoldTracks,
    /// `silver/listens` → gold marts.
    GoldMarts,
    /// Track clusters; recommenders evaluated, trained and published as a model version.
    Ml,
    /// Compaction, checkpoints and VACUUM of the appended tables.
    LakeMaintenance,
}

impl Stage {
    /// Every stage, in the order a run executes them.
    pub const ALL: [Stage; 6] = [
        Stage::SilverTracks,
        Stage::SilverListens,
        Stage::GoldTracks,
        Stage::GoldMarts,
        Stage::Ml,
        Stage::LakeMaintenance,
    ];

    /// The stage's name in records and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stage::SilverTracks => "silver_tracks",
            Stage::SilverListens => "silver_listens",
            Stage::GoldTracks => "gold_tracks",
            Stage::GoldMarts => "gold_marts",
            Stage::Ml => "ml",
            Stage::LakeMaintenance => "lake_maintenance",
        }
    }

    /// The stages a run executes, in order: all of them, or those up to and including `last`.
    pub fn up_to(last: Option<Stage>) -> &'static [Stage] {
        let end = last
            .and_then(|last| Stage::ALL.iter().position(|&s| s == last))
            .map_or(Stage::ALL.len(), |i| i + 1);
        &Stage::ALL[..end]
    }

    /// Whether the stage's SQL runs where the run's engine says ([`RunOptions::engine`]): the
    /// silver builds and the gold marts. The others run here: gold tracks copies silver tracks
    /// into PostgreSQL, the ML stage trains in this process, and maintenance rewrites files in
    /// place.
    pub fn runs_on_engine(self) -> bool {
        matches!(
            self,
            Stage::SilverTracks | Stage::SilverListens | Stage::GoldMarts
        )
    }

    /// The stage called `name`, if any.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn versions(pairs: &[(&str, Option<i64>)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter_map(|(table, version)| version.map(|v| ((*table).to_owned(), json!(v))))
        .collect()
}

pub(super) async fn run_stage(
    stage: Stage,
    lake: &Lake,
    pool: &PgPool,
    options: &RunOptions,
    run_id: i64,
) -> Result<StageOutcome> {
    let fail_here = options.fail_stage == Some(stage);
    if fail_here && !matches!(stage, Stage::GoldMarts | Stage::Ml) {
        return Err(LakehouseError::InjectedFailure(stage.name().to_owned()));
    }
    let on_cluster = (stage.runs_on_engine() && !options.engine.is_local())
        .then(|| lake.with_engine(options.engine.clone()));
    let lake = on_cluster.as_ref().unwrap_or(lake);
    let outcome = match stage {
        Stage::SilverTracks => silver_tracks(lake).await,
        Stage::SilverListens => silver_listens(lake, options).await,
        Stage::GoldTracks => gold_tracks(lake, pool).await,
        Stage::GoldMarts => {
            let failure = if fail_here {
                marts::MartsFailure::MidPublish
            } else {
                marts::MartsFailure::None
            };
            gold_marts(lake, pool, options.full, failure).await
        }
        Stage::Ml => {
            let options = super::ml_stage::StageOptions {
                run_id: Some(run_id),
                force: options.full,
                retrain: options.retrain,
                fail_mid_publish: fail_here,
            };
            ml(lake, pool, options).await
        }
        Stage::LakeMaintenance => {
            lake_maintenance(lake, &options.maintenance, options.force_maintenance).await
        }
    };
    if let Some(cluster_lake) = &on_cluster
        && let Err(e) = cluster_lake.clear_scratch().await
    {
        tracing::warn!("{stage}: the cluster's intermediate results are left behind: {e}");
    }
    outcome
}

async fn silver_tracks(lake: &Lake) -> Result<StageOutcome> {
    let Some(report) = silver::tracks::build(lake).await? else {
        return Ok(StageOutcome {
            detail: "no catalogue in bronze yet".into(),
            ..Default::default()
        });
    };
    let read = versions(&[("bronze/tracks", Some(report.bronze_version))]);
    if !report.rebuilt {
        return Ok(StageOutcome {
            versions_read: read,
            detail: format!(
                "unchanged: built from bronze/tracks version {}",
                report.bronze_version
            ),
            ..Default::default()
        });
    }
    Ok(StageOutcome {
        did_work: true,
        rows_in: (report.tracks + report.quarantined) as i64,
        rows_out: report.tracks as i64,
        rows_rejected: report.quarantined as i64,
        versions_read: read,
        versions_written: versions(&[("silver/tracks", Some(report.tracks_version))]),
        detail: format!(
            "{} tracks, {} rows quarantined",
            report.tracks, report.quarantined
        ),
        ..Default::default()
    })
}

async fn silver_listens(lake: &Lake, options: &RunOptions) -> Result<StageOutcome> {
    let build = silver::listens::BuildOptions {
        full: options.full,
        part_rows: options
            .silver_part_rows
            .unwrap_or(silver::listens::PART_ROWS),
        fail_after_parts: None,
    };
    let report = silver::listens::build_with(lake, build).await?;
    let read = versions(&[("bronze/listens", report.bronze_version)]);
    if !report.built {
        return Ok(StageOutcome {
            versions_read: read,
            detail: match report.bronze_version {
                Some(v) => format!("unchanged: silver holds bronze/listens version {v}"),
                None => "no listens (or no catalogue) yet".into(),
            },
            ..Default::default()
        });
    }
    let reasons: Vec<String> = report
        .reasons
        .iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    Ok(StageOutcome {
        did_work: true,
        rows_in: report.rows_read as i64,
        rows_out: report.written as i64,
        rows_rejected: report.quarantined as i64,
        versions_read: read,
        versions_written: versions(&[
            ("silver/listens", report.listens_version),
            ("silver/listens_quarantine", report.quarantine_version),
        ]),
        detail: format!(
            "{} listens into {} day partitions, {} duplicates dropped, {} quarantined{}{}{}",
            report.written - report.released,
            report.days,
            report.duplicates,
            report.quarantined,
            if reasons.is_empty() { "" } else { ": " },
            reasons.join(", "),
            if report.rechecked > 0 {
                format!(
                    "; {} quarantined listens of tracks now in the catalogue checked again, {} \
                     of them released into silver",
                    report.rechecked, report.released
                )
            } else {
                String::new()
            }
        ),
        ..Default::default()
    })
}

async fn gold_tracks(lake: &Lake, pool: &PgPool) -> Result<StageOutcome> {
    match crate::gold::tracks_load::sync_from_silver(lake, pool).await? {
        Some((version, rows)) => Ok(StageOutcome {
            did_work: true,
            rows_in: rows as i64,
            rows_out: rows as i64,
            versions_read: versions(&[("silver/tracks", Some(version))]),
            detail: format!("{rows} tracks loaded"),
            ..Default::default()
        }),
        None => Ok(StageOutcome {
            detail: "unchanged".into(),
            ..Default::default()
        }),
    }
}

async fn gold_marts(
    lake: &Lake,
    pool: &PgPool,
    force: bool,
    failure: marts::MartsFailure,
) -> Result<StageOutcome> {
    let report = marts::refresh(lake, pool, force, failure).await?;
    let read = versions(&[("silver/listens", report.silver_version)]);
    if !report.published {
        return Ok(StageOutcome {
            versions_read: read,
            detail: "unchanged".into(),
            ..Default::default()
        });
    }
    let rows_out: usize = report.rows_out.iter().map(|(_, n)| n).sum();
    let per_mart: Vec<String> = report
        .rows_out
        .iter()
        .map(|(mart, n)| format!("{mart} {n}"))
        .collect();
    Ok(StageOutcome {
        did_work: true,
        rows_in: report.rows_in as i64,
        rows_out: rows_out as i64,
        versions_read: read,
        detail: format!("published {}", per_mart.join(", ")),
        ..Default::default()
    })
}

async fn ml(
    lake: &Lake,
    pool: &PgPool,
    options: super::ml_stage::StageOptions,
) -> Result<StageOutcome> {
    let report = super::ml_stage::run(lake, pool, options).await?;
    let read = versions(&[("silver/listens", report.silver_version)]);
    let clustered = report
        .clustered_tracks_version
        .map(|_| format!("{} track clusters; ", report.clusters))
        .unwrap_or_default();
    let Some(version) = report.model_version else {
        return Ok(StageOutcome {
            did_work: report.clustered_tracks_version.is_some(),
            versions_read: read,
            steps: report.steps,
            detail: format!(
                "{clustered}model unchanged{}",
                report
                    .deferred
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default()
            ),
            ..Default::default()
        });
    };
    let ndcg = match (report.evaluated, report.ndcg) {
        (false, _) => ", retrained as the last evaluation chose".to_owned(),
        (true, Some(n)) => format!(", test NDCG@10 {n:.4}"),
        (true, None) => ", too little history to evaluate".to_owned(),
    };
    let skip = report
        .skip_auc
        .map(|auc| format!(", skip model AUC {auc:.3}"))
        .unwrap_or_default();
    Ok(StageOutcome {
        did_work: true,
        rows_in: report.interactions as i64,
        rows_out: (report.recommendations + report.similar) as i64,
        versions_read: read,
        steps: report.steps,
        detail: format!(
            "{clustered}model version {version}: {}{ndcg}{skip}; {} recommendations for {} listeners, {} similar-track pairs",
            report.model.unwrap_or_default(),
            report.recommendations,
            report.listeners,
            report.similar
        ),
        ..Default::default()
    })
}

async fn lake_maintenance(
    lake: &Lake,
    policy: &MaintenancePolicy,
    force: bool,
) -> Result<StageOutcome> {
    let done = maintenance::maintain(lake, policy, force).await?;
    if done.is_empty() {
        return Ok(StageOutcome {
            detail: "not needed yet".into(),
            ..Default::default()
        });
    }
    let changed: Vec<String> = done
        .iter()
        .filter(|t| t.changed())
        .map(|t| {
            format!(
                "{}: {} files compacted into {}, {} vacuumed",
                t.table, t.files_removed, t.files_added, t.vacuumed_files
            )
        })
        .collect();
    Ok(StageOutcome {
        did_work: !changed.is_empty(),
        rows_in: done.iter().map(|t| t.files_removed as i64).sum(),
        rows_out: done.iter().map(|t| t.files_added as i64).sum(),
        versions_written: done
            .iter()
            .filter(|t| t.changed())
            .filter_map(|t| t.version.map(|v| (t.table.clone(), json!(v))))
            .collect(),
        detail: if changed.is_empty() {
            "nothing to compact or vacuum".into()
        } else {
            changed.join("; ")
        },
        ..Default::default()
    })
}

/// See [`super::has_work`].
pub(super) async fn has_work(
    lake: &Lake,
    pool: &PgPool,
    policy: &MaintenancePolicy,
    retrain: super::cadence::Retrain,
) -> Result<bool> {
    if !silver::tracks::is_current(lake).await? {
        return Ok(true);
    }
    if let Some(tracks) = lake.existing_table(silver::tracks::TABLE).await?
        && (lake_loads::loaded_version(pool, crate::gold::tracks_load::TARGET).await?
            != tracks.version().map(|v| v as i64)
            || lake_loads::loaded_version(pool, crate::gold::clusters::TARGET).await?
                != tracks.version().map(|v| v as i64))
    {
        return Ok(true);
    }
    if let Some(bronze) = lake.existing_table(bronze::listens::LISTENS).await? {
        let silver_listens = lake.table(silver::listens::TABLE).await?;
        let held = silver::listens::read_version(&silver_listens, silver::listens::TABLE).await?;
        if held != bronze.version().map(|v| v as i64) {
            return Ok(true);
        }
        let silver_version = silver_listens.version().map(|v| v as i64);
        if silver_version.is_some() {
            if lake_loads::loaded_version(pool, marts::TARGET).await? != silver_version {
                return Ok(true);
            }
            // A model behind silver is work only once the retrain policy says so.
            if lake_loads::loaded_version(pool, crate::gold::model_publish::TARGET).await?
                != silver_version
                && super::cadence::deferral(lake, &silver_listens, pool, retrain)
                    .await?
                    .is_none()
            {
                return Ok(true);
            }
        }
    }
    maintenance::worthwhile(lake, policy).await
}
