//! `silver/tracks` (one typed row per track) and `silver/tracks_quarantine` (rows that failed
//! validation, with the reason), rebuilt from `bronze/tracks`.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef, recorded_version};
use crate::query::{collect_or_empty, materialize};

/// One row per track.
pub const TABLE: TableRef = TableRef::new("silver", "tracks");
/// Catalogue rows set aside by validation.
pub const QUARANTINE: TableRef = TableRef::new("silver", "tracks_quarantine");

/// The audio features of a track (columns of `silver/tracks` and of gold's `tracks`), in the
/// order every feature vector of soundlake uses.
pub const AUDIO_FEATURES: [&str; 9] = [
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
];

/// The application id under which both tables record the `bronze/tracks` version they were
/// built from (a Delta `txn` action), so a rebuild is skipped when bronze has not changed.
const BUILT_FROM_BRONZE: &str = "soundlake.silver.tracks.bronze_version";
/// The application id under which both tables record the generation of checks they were
/// built with ([`super::CHECKS`]): tables built with fewer checks are rebuilt.
const CHECKED_WITH: &str = "soundlake.silver.tracks.checks";

const TYPED_TRACKS_SQL: &str = include_str!("sql/typed_tracks.sql");
const TRACKS_SQL: &str = include_str!("sql/tracks.sql");
const QUARANTINE_SQL: &str = include_str!("sql/tracks_quarantine.sql");

/// What a build found and wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SilverTracksReport {
    /// The bronze version silver now reflects.
    pub bronze_version: i64,
    /// The `silver/tracks` version now current.
    pub tracks_version: i64,
    /// `false` when silver already reflected this bronze version and nothing was written.
    pub rebuilt: bool,
    pub tracks: usize,
    pub quarantined: usize,
    /// Quarantined rows by reason.
    pub reasons: BTreeMap<String, usize>,
}

/// Rebuilds silver tracks from bronze when bronze has changed since the last build. Returns
/// `None` when there is no bronze catalogue yet.
pub async fn build(lake: &Lake) -> Result<Option<SilverTracksReport>> {
    let Some(bronze_table) = lake.existing_table(bronze::tracks::TABLE).await? else {
        return Ok(None);
    };
    let bronze_version = bronze_table.version().unwrap_or_default() as i64;
    let tracks = lake.table(TABLE).await?;
    let quarantine = lake.table(QUARANTINE).await?;
    if is_built(&tracks, TABLE, bronze_version).await?
        && is_built(&quarantine, QUARANTINE, bronze_version).await?
    {
        return Ok(Some(SilverTracksReport {
            bronze_version,
            tracks_version: tracks.version().unwrap_or_default() as i64,
            rebuilt: false,
            tracks: 0,
            quarantined: 0,
            reasons: BTreeMap::new(),
        }));
    }

    let started = std::time::Instant::now();
    let ctx = lake.session()?;
    crate::query::functions::register(&ctx);
    lake.register(&ctx, bronze::tracks::TABLE, &bronze_table)
        .await?;
    // Typed once: both the tracks and the quarantine query read it.
    materialize(&ctx, "typed_tracks", TYPED_TRACKS_SQL).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "typed bronze rows");
    let track_batches = collect_or_empty(&ctx, &TABLE.qualified(), TRACKS_SQL).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "deduplicated tracks");
    let quarantine_batches =
        collect_or_empty(&ctx, &QUARANTINE.qualified(), QUARANTINE_SQL).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "quarantined rows");
    let reasons = super::count_reasons(&quarantine_batches)?;
    let tracks_count = rows(&track_batches);
    let quarantined = rows(&quarantine_batches);

    let tracks = overwrite(tracks, TABLE, track_batches, bronze_version).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "wrote silver/tracks");
    overwrite(quarantine, QUARANTINE, quarantine_batches, bronze_version).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "wrote silver/tracks_quarantine");
    Ok(Some(SilverTracksReport {
        bronze_version,
        tracks_version: tracks.version().unwrap_or_default() as i64,
        rebuilt: true,
        tracks: tracks_count,
        quarantined,
        reasons,
    }))
}

/// Whether silver tracks already reflect the current bronze catalogue (or there is none).
pub async fn is_current(lake: &Lake) -> Result<bool> {
    let Some(bronze_table) = lake.existing_table(bronze::tracks::TABLE).await? else {
        return Ok(true);
    };
    let bronze_version = bronze_table.version().unwrap_or_default() as i64;
    let tracks = lake.table(TABLE).await?;
    is_built(&tracks, TABLE, bronze_version).await
}

/// Whether a silver table was built from `bronze_version` with the current checks.
async fn is_built(table: &DeltaTable, name: TableRef, bronze_version: i64) -> Result<bool> {
    Ok(
        recorded_version(table, name, BUILT_FROM_BRONZE).await? == Some(bronze_version)
            && recorded_version(table, name, CHECKED_WITH)
                .await?
                .is_some_and(|checks| checks >= super::CHECKS),
    )
}

async fn overwrite(
    table: DeltaTable,
    name: TableRef,
    batches: Vec<RecordBatch>,
    bronze_version: i64,
) -> Result<DeltaTable> {
    let properties = CommitProperties::default()
        .with_metadata([(
            "soundlake.operation".to_owned(),
            serde_json::json!("build silver tracks"),
        )])
        .with_application_transaction(Transaction::new(BUILT_FROM_BRONZE, bronze_version))
        .with_application_transaction(Transaction::new(CHECKED_WITH, super::CHECKS));
    table
        .write(batches)
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(SchemaMode::Overwrite)
        .with_table_name(name.sql_name())
        .with_commit_properties(properties)
        .await
        .map_err(|e| LakehouseError::delta(name.qualified(), e))
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
