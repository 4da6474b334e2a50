//! Listens quarantined because their track was unknown, checked again once the catalogue
//! has their track (a catalogue imported after the listens, say): each is read again from
//! bronze, checked like a new listen, and written to `silver/listens`, or kept in the
//! quarantine when it now fails another check.
//!
//! `silver/listens` is written first and the quarantine rewritten after it. A build that dies
//! between the two leaves the listens in both tables; the next build checks them again, finds
//! them in silver already, and only removes them from the quarantine. Nothing is lost or
//! counted twice.

use datafusion::arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;

use super::check::check;
use super::parts::Part;
use super::table::{
    LISTENS_SQL, QUARANTINE, SilverListensReport, Stamp, TABLE, write_listens_of,
    write_quarantine_rows,
};
use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::query::{collect_or_empty, materialize, register_batches};
use crate::silver;

const RECHECK_IDS_SQL: &str = include_str!("../sql/recheck_ids.sql");
const RECHECK_BRONZE_SQL: &str = include_str!("../sql/recheck_bronze_listens.sql");
const QUARANTINE_AFTER_SQL: &str = include_str!("../sql/quarantine_after_recheck.sql");

/// Checks again the quarantined listens of unknown tracks that `tracks` now has, adding what
/// it did to `report`. Does nothing (and reads no bronze) when there are none.
pub(super) async fn unknown_tracks(
    lake: &Lake,
    bronze_table: &DeltaTable,
    tracks: &DeltaTable,
    report: &mut SilverListensReport,
) -> Result<()> {
    let (Some(quarantine), Some(listens)) = (
        lake.existing_table(QUARANTINE).await?,
        lake.existing_table(TABLE).await?,
    ) else {
        return Ok(());
    };
    let ctx = lake.session_with(&super::check::SESSION_SETTINGS)?;
    lake.register(&ctx, silver::tracks::TABLE, tracks).await?;
    lake.register(&ctx, QUARANTINE, &quarantine).await?;
    let rechecked = materialize(&ctx, "recheck_ids", RECHECK_IDS_SQL).await?;
    if rechecked == 0 {
        return Ok(());
    }
    let bronze_name = bronze::listens::LISTENS;
    lake.register_as(&ctx, "bronze_listens", bronze_name, bronze_table)
        .await?;
    let query_error = |e| LakehouseError::query(QUARANTINE.qualified(), e);
    let frame = ctx.sql(RECHECK_BRONZE_SQL).await.map_err(query_error)?;
    ctx.register_table("bronze_listens_read", frame.into_view())
        .map_err(query_error)?;
    let checked = check(lake, &ctx, Some(&listens), Part::WHOLE).await?;

    // The same bronze version as the listens already hold: nothing new was read from bronze.
    // No commit when nothing is released (all already in silver, or all failing again), so
    // that gold and the ML stage do not see a new silver version without new listens.
    let version = report.bronze_version.unwrap_or_default();
    let released = materialize(&ctx, "released_listens", LISTENS_SQL).await?;
    let listens = if released == 0 {
        listens
    } else {
        let all = "SELECT * FROM released_listens";
        write_listens_of(&ctx, all, listens, false, Stamp::whole(version))
            .await?
            .0
    };

    // Listens failing again were quarantined (and counted) before: this run does not count
    // them as rejected.
    let rejected_again: usize = checked.rejected.iter().map(RecordBatch::num_rows).sum();
    report.rows_read += checked.rows_read;
    report.duplicates += checked.rows_read.saturating_sub(released + rejected_again);
    register_batches(&ctx, "listens_quarantine", checked.rejected).await?;
    let kept = collect_or_empty(&ctx, "quarantine after a re-check", QUARANTINE_AFTER_SQL).await?;
    let quarantine = write_quarantine_rows(
        quarantine,
        kept,
        SaveMode::Overwrite,
        "re-check quarantined listens",
        Stamp::whole(version),
    )
    .await?;

    report.rechecked += rechecked;
    report.released += released;
    report.written += released;
    report.listens_version = listens.version().map(|v| v as i64);
    report.quarantine_version = quarantine.version().map(|v| v as i64);
    report.built = true;
    Ok(())
}
