//! Track clusters, the 2-D map and listener segments in gold: published whole, read by the
//! API and the dashboards.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use super::copy_text::CopyTextWriter;
use super::lake_loads;
use crate::error::Result;
use crate::ml::clusters::{Segment, TrackClustering};

/// The target name recorded in `lake_loads` (source: `silver/tracks`).
pub const TARGET: &str = "clusters";

/// Replaces the clusters, their k scores and the map with `clustering` of `track_ids`, and
/// records the `silver/tracks` version it was computed from.
pub async fn publish_clusters(
    pool: &PgPool,
    track_ids: &[String],
    clustering: &TrackClustering,
    tracks_version: i64,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    for table in ["track_clusters", "cluster_k_scores", "track_map"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    for c in &clustering.clusters {
        let centroid: serde_json::Map<String, serde_json::Value> = c
            .centroid
            .iter()
            .map(|(f, v)| (f.clone(), json!(v)))
            .collect();
        sqlx::query!(
            "INSERT INTO track_clusters (cluster_id, label, size, centroid, top_genres)
             VALUES ($1, $2, $3, $4, $5)",
            c.cluster_id as i16,
            c.label,
            c.size as i32,
            serde_json::Value::Object(centroid),
            json!(c.top_genres),
        )
        .execute(&mut *tx)
        .await?;
    }
    for s in &clustering.scores {
        sqlx::query!(
            "INSERT INTO cluster_k_scores (k, silhouette, inertia, chosen) VALUES ($1, $2, $3, $4)",
            s.k as i16,
            s.silhouette,
            s.inertia,
            s.k == clustering.chosen_k,
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut w = CopyTextWriter::with_capacity(track_ids.len() * 40);
    for ((id, cluster), [x, y]) in track_ids
        .iter()
        .zip(&clustering.assignments)
        .zip(&clustering.positions)
    {
        w.text(Some(id));
        w.display(Some(cluster));
        w.display(Some(*x as f32));
        w.display(Some(*y as f32));
        w.end_row();
    }
    let mut copy = tx
        .copy_in_raw("COPY track_map (track_id, cluster_id, x, y) FROM STDIN")
        .await?;
    copy.send(w.take()).await?;
    copy.finish().await?;
    lake_loads::record_load(
        &mut tx,
        TARGET,
        &crate::silver::tracks::TABLE.qualified(),
        tracks_version,
        track_ids.len() as i64,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the listener segments and their members, each with its taste (mean features in
/// [`crate::silver::tracks::AUDIO_FEATURES`] order).
pub async fn write_segments(
    tx: &mut PgConnection,
    segments: &[Segment],
    members: &[(String, usize, [f64; 9])],
) -> Result<()> {
    sqlx::query!("DELETE FROM user_segments")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM user_segment_members")
        .execute(&mut *tx)
        .await?;
    for s in segments {
        let centroid: serde_json::Map<String, serde_json::Value> = s
            .centroid
            .iter()
            .map(|(f, v)| (f.clone(), json!(v)))
            .collect();
        sqlx::query!(
            "INSERT INTO user_segments (segment_id, label, size, centroid) VALUES ($1, $2, $3, $4)",
            s.segment_id as i16,
            s.label,
            s.size as i32,
            serde_json::Value::Object(centroid),
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut w = CopyTextWriter::with_capacity(members.len() * 120);
    for (user, segment, taste) in members {
        w.text(Some(user));
        w.display(Some(segment));
        let values: Vec<String> = taste.iter().map(|v| format!("{v:.6}")).collect();
        w.text(Some(&format!("{{{}}}", values.join(","))));
        w.end_row();
    }
    let mut copy = tx
        .copy_in_raw("COPY user_segment_members (user_id, segment_id, taste) FROM STDIN")
        .await?;
    copy.send(w.take()).await?;
    copy.finish().await?;
    Ok(())
}

/// The label of the cluster a track is in, if the catalogue was clustered with it.
pub async fn track_cluster(pool: &PgPool, track_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        "SELECT c.label FROM track_map m JOIN track_clusters c USING (cluster_id)
         WHERE m.track_id = $1",
        track_id,
    )
    .fetch_optional(pool)
    .await?)
}

/// Each track's cluster label, for the tracks on the map.
pub async fn track_labels(pool: &PgPool) -> Result<std::collections::HashMap<String, String>> {
    let rows = sqlx::query!(
        "SELECT m.track_id, c.label FROM track_map m JOIN track_clusters c USING (cluster_id)",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.track_id, row.label))
        .collect())
}

/// A cluster as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRow {
    pub cluster_id: i16,
    pub label: String,
    pub size: i32,
    /// Mean audio features by name, in their own units (`null` for one that had no value).
    pub centroid: Json<Centroid>,
    /// The commonest genres with their track counts, commonest first.
    pub top_genres: Json<Vec<(String, i64)>>,
}

/// Mean audio features by name, as stored (JSON `{"energy": 0.71, ...}`).
pub type Centroid = BTreeMap<String, Option<f64>>;

/// Every cluster, largest first.
pub async fn list_clusters(pool: &PgPool) -> Result<Vec<ClusterRow>> {
    Ok(sqlx::query_as!(
        ClusterRow,
        r#"SELECT cluster_id, label, size, centroid AS "centroid: Json<Centroid>",
                  top_genres AS "top_genres: Json<Vec<(String, i64)>>"
           FROM track_clusters ORDER BY size DESC, cluster_id"#,
    )
    .fetch_all(pool)
    .await?)
}

/// The silhouette and inertia of every k tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KScoreRow {
    pub k: i16,
    pub silhouette: f64,
    pub inertia: f64,
    pub chosen: bool,
}

pub async fn list_k_scores(pool: &PgPool) -> Result<Vec<KScoreRow>> {
    Ok(sqlx::query_as!(
        KScoreRow,
        "SELECT k, silhouette, inertia, chosen FROM cluster_k_scores ORDER BY k",
    )
    .fetch_all(pool)
    .await?)
}

/// A listener segment as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRow {
    pub segment_id: i16,
    pub label: String,
    pub size: i32,
    /// Mean audio features of the segment's listeners' plays, in their own units.
    pub centroid: Json<Centroid>,
}

/// Every listener segment, largest first.
pub async fn list_segments(pool: &PgPool) -> Result<Vec<SegmentRow>> {
    Ok(sqlx::query_as!(
        SegmentRow,
        r#"SELECT segment_id, label, size, centroid AS "centroid: Json<Centroid>"
           FROM user_segments ORDER BY size DESC, segment_id"#,
    )
    .fetch_all(pool)
    .await?)
}

/// A track on the 2-D map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapPoint {
    pub track_id: String,
    pub name: String,
    pub cluster_id: i16,
    pub x: f32,
    pub y: f32,
}

/// Up to `limit` tracks of the map: the same sample every time (ordered by a hash of the id),
/// so a chart does not jump between reloads.
pub async fn map_sample(pool: &PgPool, limit: i64) -> Result<Vec<MapPoint>> {
    Ok(sqlx::query_as!(
        MapPoint,
        "SELECT m.track_id, t.name, m.cluster_id, m.x, m.y
         FROM track_map m JOIN tracks t USING (track_id)
         ORDER BY md5(m.track_id) LIMIT $1",
        limit,
    )
    .fetch_all(pool)
    .await?)
}
