//! Rows `silver/listens` already holds, checked again when silver's checks have gained a rule
//! since they were written (a lake built by an older soundlake, whose listens gold may be
//! unable to store): each failing row moves to the quarantine with its reason, the others
//! stay as they are. Runs once per generation of checks ([`crate::silver::CHECKS`]), recorded in
//! listens' commits; tables built with the current checks are never read here.
//!
//! The quarantine is appended first and the rows deleted from `silver/listens` after. A build
//! that dies between the two leaves the rows in both; the next build finds the listens table
//! still unchecked, does not append them to the quarantine again (it records the generation
//! too), and deletes them.

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::prelude::{Expr, col, lit};
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;

use super::table::{
    CHECKED_WITH, QUARANTINE, SilverListensReport, Stamp, TABLE, read_version,
    write_quarantine_rows,
};
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, recorded_version};
use crate::query::collect_or_empty;

const STORED_FAULTS_SQL: &str = include_str!("../sql/stored_listens_faults.sql");

/// Whether `table` was written with the current generation of checks.
async fn is_checked(table: &DeltaTable, name: crate::lake::TableRef) -> Result<bool> {
    Ok(recorded_version(table, name, CHECKED_WITH)
        .await?
        .is_some_and(|checks| checks >= crate::silver::CHECKS))
}

/// Checks the stored listens again when they were written with older checks, adding what it
/// moved to `report`'s quarantine counts.
pub(super) async fn stored_rows(lake: &Lake, report: &mut SilverListensReport) -> Result<()> {
    let Some(listens) = lake.existing_table(TABLE).await? else {
        return Ok(());
    };
    if is_checked(&listens, TABLE).await? {
        return Ok(());
    }
    let Some(bronze_version) = read_version(&listens, TABLE).await? else {
        return Ok(());
    };
    let ctx = lake.session()?;
    crate::query::functions::register(&ctx);
    lake.register(&ctx, TABLE, &listens).await?;
    let faults = collect_or_empty(&ctx, "stored listens' checks", STORED_FAULTS_SQL).await?;
    let ids = event_ids(&faults);
    tracing::info!(
        rows = ids.len(),
        "silver listens written with older checks: moving the rows that fail to the quarantine"
    );
    if !ids.is_empty() {
        let quarantine = lake.table(QUARANTINE).await?;
        if !is_checked(&quarantine, QUARANTINE).await? {
            write_quarantine_rows(
                quarantine,
                faults.clone(),
                SaveMode::Append,
                "quarantine stored listens failing newer checks",
                Stamp::whole(bronze_version),
            )
            .await?;
        }
        report.quarantined += ids.len();
        for (reason, n) in crate::silver::count_reasons(&faults)? {
            *report.reasons.entry(reason).or_insert(0) += n;
        }
    }
    mark_checked(listens, &ids, bronze_version).await
}

fn event_ids(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Deletes the listens `ids` from `silver/listens` and records the current checks, in one
/// commit (an empty append when there is nothing to delete).
async fn mark_checked(table: DeltaTable, ids: &[String], bronze_version: i64) -> Result<()> {
    let delta_error = |e| LakehouseError::delta(TABLE.qualified(), e);
    let properties = Stamp::whole(bronze_version).commit_properties("check stored listens");
    if ids.is_empty() {
        let snapshot = table.snapshot().map_err(delta_error)?;
        let empty = RecordBatch::new_empty(snapshot.snapshot().arrow_schema());
        table
            .write(vec![empty])
            .with_save_mode(SaveMode::Append)
            .with_commit_properties(properties)
            .await
            .map_err(delta_error)?;
        return Ok(());
    }
    let listed: Vec<Expr> = ids.iter().map(|id| lit(id.as_str())).collect();
    table
        .delete()
        .with_predicate(col("event_id").in_list(listed, false))
        .with_commit_properties(properties)
        .await
        .map_err(delta_error)?;
    Ok(())
}
