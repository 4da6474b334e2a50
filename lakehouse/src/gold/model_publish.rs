//! Publishing a model version: its metrics, every listener's recommendations and every
//! track's similar tracks, streamed in chunks within one transaction that also makes it the
//! current version. Readers see the previous version until it commits.

use sqlx::{PgConnection, PgPool};

use super::copy_text::CopyTextWriter;
use super::lake_loads;
use crate::error::Result;
use crate::ml::evaluate::ModelResult;

/// The target name recorded in `lake_loads`.
pub const TARGET: &str = "model";

/// A trained model version, ready to publish.
#[derive(Debug, Clone)]
pub struct ModelVersion {
    pub run_id: Option<i64>,
    pub model: String,
    pub params: serde_json::Value,
    /// The whole model specification (`ModelSpec` as JSON).
    pub spec: serde_json::Value,
    pub silver_version: i64,
    pub users: i64,
    pub items: i64,
    pub interactions: i64,
    pub train_secs: f64,
    pub skip_metrics: Option<serde_json::Value>,
    /// What the offline evaluation says of this version.
    pub evaluation: Evaluated,
}

/// Where a version's offline figures come from.
#[derive(Debug, Clone)]
pub enum Evaluated {
    /// This version ran the evaluation: every family's figures (empty when there was too
    /// little data to evaluate) and how many listeners were tested.
    Now {
        metrics: Vec<ModelResult>,
        test_users: i64,
    },
    /// This version retrained what version `.0`'s evaluation chose; its figures are that
    /// evaluation's.
    Earlier(i64),
}

/// The newest version that ran the evaluation: (version, its `ModelSpec` as JSON text, when it
/// was trained).
pub async fn last_evaluation(
    pool: &PgPool,
) -> Result<Option<(i64, String, chrono::DateTime<chrono::Utc>)>> {
    let row = sqlx::query!(
        r#"SELECT model_version, spec::text AS "spec!", trained_at FROM model_versions
           WHERE evaluated ORDER BY model_version DESC LIMIT 1"#
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.model_version, row.spec, row.trained_at)))
}

/// One listener's list: (track, score, reason), best first.
pub type UserList = (String, Vec<(String, f32, String)>);
/// One track's similar tracks: (track, similarity), most similar first.
pub type SimilarList = (String, Vec<(String, f32)>);

/// A model version being written in the caller's transaction: its row and metrics first, then
/// its lists and similar tracks in chunks as they are made (each chunk one `COPY`), then
/// [`finish`](Self::finish) makes it current. Until the transaction commits, readers see the
/// previous version; a failure at any point (the transaction rolled back) leaves it serving.
pub struct VersionWriter {
    id: i64,
    silver_version: i64,
    recommendations: i64,
    buffer: CopyTextWriter,
}

impl VersionWriter {
    /// Inserts the version and its metrics.
    pub async fn begin(tx: &mut PgConnection, version: &ModelVersion) -> Result<Self> {
        let id: i64 = sqlx::query_scalar!(
            "INSERT INTO model_versions (run_id, model, params, spec, evaluated, silver_version,
                 users, items, interactions, train_secs, skip_metrics)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             RETURNING model_version",
            version.run_id,
            version.model,
            version.params,
            version.spec,
            matches!(version.evaluation, Evaluated::Now { .. }),
            version.silver_version,
            version.users,
            version.items,
            version.interactions,
            version.train_secs,
            version.skip_metrics.as_ref(),
        )
        .fetch_one(&mut *tx)
        .await?;
        insert_metrics(tx, id, version).await?;
        Ok(Self {
            id,
            silver_version: version.silver_version,
            recommendations: 0,
            buffer: CopyTextWriter::with_capacity(1 << 20),
        })
    }

    /// The version's number.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Writes some listeners' lists.
    pub async fn write_lists(&mut self, tx: &mut PgConnection, lists: &[UserList]) -> Result<()> {
        let w = &mut self.buffer;
        for (user, list) in lists {
            for (rank, (track, score, reason)) in list.iter().enumerate() {
                w.display(Some(self.id));
                w.text(Some(user));
                w.display(Some(rank + 1));
                w.text(Some(track));
                w.display(Some(score));
                w.text(Some(reason));
                w.end_row();
            }
            self.recommendations += list.len() as i64;
        }
        copy(
            tx,
            "COPY recommendations (model_version, user_id, rank, track_id, score, reason) FROM STDIN",
            w.take(),
        )
        .await
    }

    /// Writes some tracks' similar tracks.
    pub async fn write_similar(
        &mut self,
        tx: &mut PgConnection,
        similar: &[SimilarList],
    ) -> Result<()> {
        let w = &mut self.buffer;
        for (track, list) in similar {
            for (rank, (other, score)) in list.iter().enumerate() {
                w.display(Some(self.id));
                w.text(Some(track));
                w.display(Some(rank + 1));
                w.text(Some(other));
                w.display(Some(score));
                w.end_row();
            }
        }
        copy(
            tx,
            "COPY similar_tracks (model_version, track_id, rank, similar_track_id, score) FROM STDIN",
            w.take(),
        )
        .await
    }

    /// Records how varied the lists written are (`diversity`, JSON; `None`: not measured),
    /// makes the version current, drops older versions' lists, and records the silver version
    /// it was trained on. Returns its number.
    pub async fn finish(
        self,
        tx: &mut PgConnection,
        diversity: Option<&serde_json::Value>,
    ) -> Result<i64> {
        sqlx::query!("UPDATE model_versions SET is_current = false WHERE is_current")
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "UPDATE model_versions SET is_current = true, diversity = $2
             WHERE model_version = $1",
            self.id,
            diversity,
        )
        .execute(&mut *tx)
        .await?;
        for table in ["recommendations", "similar_tracks"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE model_version <> $1"
            )))
            .bind(self.id)
            .execute(&mut *tx)
            .await?;
        }
        lake_loads::record_load(
            tx,
            TARGET,
            &crate::silver::listens::TABLE.qualified(),
            self.silver_version,
            self.recommendations,
        )
        .await?;
        Ok(self.id)
    }
}

async fn insert_metrics(conn: &mut PgConnection, id: i64, version: &ModelVersion) -> Result<()> {
    let (metrics, test_users) = match &version.evaluation {
        Evaluated::Now {
            metrics,
            test_users,
        } => (metrics, *test_users),
        Evaluated::Earlier(from) => {
            sqlx::query!(
                "INSERT INTO model_metrics (model_version, model, chosen, params, validation_ndcg,
                     ndcg, recall, precision, map, coverage, train_secs, eval_secs, test_users)
                 SELECT $1::bigint, model, chosen, params, validation_ndcg, ndcg, recall,
                     precision, map, coverage, train_secs, eval_secs, test_users
                 FROM model_metrics WHERE model_version = $2",
                id,
                *from,
            )
            .execute(&mut *conn)
            .await?;
            return Ok(());
        }
    };
    for m in metrics {
        sqlx::query!(
            "INSERT INTO model_metrics (model_version, model, chosen, params, validation_ndcg,
                 ndcg, recall, precision, map, coverage, train_secs, eval_secs, test_users)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            id,
            m.model,
            m.model == version.model,
            m.spec.params_json(),
            m.validation_ndcg,
            m.test.ndcg,
            m.test.recall,
            m.test.precision,
            m.test.map,
            m.test.coverage,
            m.train_secs,
            m.eval_secs,
            test_users,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn copy(conn: &mut PgConnection, statement: &str, rows: Vec<u8>) -> Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(rows).await?;
    copy.finish().await?;
    Ok(())
}
