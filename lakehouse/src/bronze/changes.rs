//! What a bronze table gained between two versions: the data files its commits added.
//!
//! Incremental jobs read only these files. Files rewritten by compaction (OPTIMIZE marks its
//! adds `dataChange: false`) hold rows that were already there, so they are not new data.

use std::path::PathBuf;

use deltalake::DeltaTable;
use deltalake::kernel::Action;
use deltalake::logstore::get_actions;

use crate::error::{LakehouseError, Result};
use crate::lake::TableRef;

/// The data files that commits `after + 1 ..= table.version()` added with new data (every
/// commit when `after` is `None`).
pub async fn files_added_after(
    table: &DeltaTable,
    name: TableRef,
    after: Option<u64>,
) -> Result<Vec<PathBuf>> {
    let delta_error = |e| LakehouseError::delta(name.qualified(), e);
    let Some(current) = table.version() else {
        return Ok(Vec::new());
    };
    let log_store = table.log_store();
    let root = log_store.root_url().clone();
    let mut files = Vec::new();
    for version in after.map_or(0, |v| v + 1)..=current {
        let bytes = log_store
            .read_commit_entry(version)
            .await
            .map_err(delta_error)?
            .ok_or_else(|| LakehouseError::Schema {
                table: name.qualified(),
                detail: format!(
                    "commit {version} is no longer in the log; rebuild from the whole table (pipeline run --full)"
                ),
            })?;
        for action in get_actions(version, &bytes).map_err(delta_error)? {
            if let Action::Add(add) = action
                && add.data_change
            {
                let url = root.join(&add.path).map_err(|e| LakehouseError::Schema {
                    table: name.qualified(),
                    detail: format!("file path {}: {e}", add.path),
                })?;
                let path = url.to_file_path().map_err(|()| LakehouseError::Schema {
                    table: name.qualified(),
                    detail: format!("{url} is not a local file"),
                })?;
                files.push(path);
            }
        }
    }
    Ok(files)
}
