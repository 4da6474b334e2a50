//! `soundlake-bench clusters`: KMeans over a catalogue's audio features for the whole k range,
//! with each k's silhouette and the chosen clusters' labels.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use lakehouse::Lake;
use lakehouse::catalog::import_catalog;
use lakehouse::ml::clusters::{ClusterOptions, TrackFeatures, cluster_tracks};
use lakehouse::pipeline::ml_inputs::read_tracks;

use super::BenchServer;
use server::infra::config::Config;

pub async fn clusters(config: &Config, path: &Path) -> Result<()> {
    if !path.exists() {
        bail!(
            "{} does not exist: pass a catalogue (CSV file or folder)",
            path.display()
        );
    }
    let server = BenchServer::open(config)?;
    let name = format!("soundlake_bench_clusters_{}", std::process::id());
    let pool = server.fresh_database(&name).await?;
    let dir = tempfile::tempdir()?;
    let lake = Lake::new(dir.path().join("lake"));
    let imported = import_catalog(&lake, &pool, &[path.to_owned()]).await;
    pool.close().await;
    server.drop_database(&name).await?;
    imported?;
    let table = lake
        .existing_table(lakehouse::silver::tracks::TABLE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the import wrote no silver tracks"))?;
    let tracks: Vec<TrackFeatures> = read_tracks(&lake, &table)
        .await?
        .into_iter()
        .map(|t| TrackFeatures {
            track_id: t.track_id,
            genres: t.genres,
            values: t.features,
        })
        .collect();
    let options = ClusterOptions::default();
    let started = Instant::now();
    let result = tokio::task::block_in_place(|| cluster_tracks(&tracks, &options))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} tracks, k from {} to {}, silhouette on {} sampled tracks",
        tracks.len(),
        options.k_min,
        options.k_max,
        options.silhouette_sample
    );
    println!("{:>3} {:>11} {:>14}", "k", "silhouette", "inertia");
    for s in &result.scores {
        let chosen = if s.k == result.chosen_k { " *" } else { "" };
        println!(
            "{:>3} {:>11.4} {:>14.1}{chosen}",
            s.k, s.silhouette, s.inertia
        );
    }
    for c in &result.clusters {
        let genres: Vec<&str> = c
            .top_genres
            .iter()
            .take(3)
            .map(|(g, _)| g.as_str())
            .collect();
        println!(
            "  cluster {:>2}: {:>6} tracks  {:<40} {}",
            c.cluster_id,
            c.size,
            c.label,
            genres.join(", ")
        );
    }
    println!("KMeans over the k range, silhouettes and the PCA map: {seconds:.1} s");
    Ok(())
}
