//! Acknowledged means on disk: the files of an append and its log entry are flushed to the
//! device (fsync), and so are the folders that name them, before the append returns.
//!
//! The object store writes through the page cache, which survives a crash of the process but
//! not of the machine; a listen acknowledged to its client must survive both.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Flushes `files` (paths relative to `table_dir`) and every folder holding one of them.
pub async fn sync(table_dir: PathBuf, files: Vec<String>) -> io::Result<()> {
    tokio::task::spawn_blocking(move || sync_now(&table_dir, &files))
        .await
        .map_err(io::Error::other)?
}

/// Flushes every file and folder under `table_dir` (after the commit that created the table).
pub async fn sync_tree(table_dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut files = Vec::new();
        collect(&table_dir, &table_dir, &mut files)?;
        sync_now(&table_dir, &files)
    })
    .await
    .map_err(io::Error::other)?
}

fn sync_now(table_dir: &Path, files: &[String]) -> io::Result<()> {
    let mut folders = BTreeSet::from([table_dir.to_path_buf()]);
    if let Some(lake_layer) = table_dir.parent() {
        folders.insert(lake_layer.to_path_buf());
    }
    for file in files {
        let path = table_dir.join(file);
        File::open(&path)?.sync_all()?;
        let mut folder = path.parent();
        while let Some(dir) = folder.filter(|d| d.starts_with(table_dir)) {
            folders.insert(dir.to_path_buf());
            folder = dir.parent();
        }
    }
    for folder in folders {
        File::open(folder)?.sync_all()?;
    }
    Ok(())
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flushes_nested_files_and_refuses_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("bronze").join("listens");
        std::fs::create_dir_all(table.join("_delta_log")).unwrap();
        std::fs::write(table.join("_delta_log/00000000000000000000.json"), "{}").unwrap();
        sync_tree(table.clone()).await.unwrap();
        sync(
            table.clone(),
            vec!["_delta_log/00000000000000000000.json".into()],
        )
        .await
        .unwrap();
        let missing = sync(table, vec!["day=2026-12-04/part-0.parquet".into()]).await;
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
