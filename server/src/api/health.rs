//! `GET /health`: is the database reachable, what does the lake hold, does ingest take
//! listens, which version runs.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lakehouse::lake::TableRef;
use serde::Serialize;

use crate::state::AppState;

/// The health report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when every check passed, `degraded` otherwise.
    status: &'static str,
    version: &'static str,
    database: DatabaseHealth,
    lake: LakeHealth,
    ingest: IngestHealth,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct IngestHealth {
    /// `false` once the writer has stopped (a commit could not be flushed to disk): listens
    /// are refused until soundlake restarts.
    ok: bool,
    /// Submissions waiting for the next commit.
    waiting: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DatabaseHealth {
    ok: bool,
    tracks: Option<i64>,
    error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LakeHealth {
    ok: bool,
    path: String,
    tables: Vec<TableHealth>,
    error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TableHealth {
    table: String,
    /// The table's current version; `None` when it has not been written yet.
    version: Option<u64>,
}

const TABLES: [TableRef; 3] = [
    lakehouse::bronze::tracks::TABLE,
    lakehouse::silver::tracks::TABLE,
    lakehouse::silver::tracks::QUARANTINE,
];

/// Checks the database, the lake and the ingest writer; 200 when all are fine, 503 otherwise.
/// Who: anyone.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses(
        (status = 200, description = "The database and the lake answer, and ingest takes listens.", body = Health),
        (status = 503, description = "The database or the lake does not answer, or ingest has stopped.", body = Health),
    ),
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = match lakehouse::gold::tracks::count_tracks(&state.pool).await {
        Ok(tracks) => DatabaseHealth {
            ok: true,
            tracks: Some(tracks),
            error: None,
        },
        Err(e) => DatabaseHealth {
            ok: false,
            tracks: None,
            error: Some(e.to_string()),
        },
    };
    let mut lake = LakeHealth {
        ok: true,
        path: state.lake.to_string(),
        tables: Vec::new(),
        error: None,
    };
    for table in TABLES {
        match state.lake.existing_table(table).await {
            Ok(delta) => lake.tables.push(TableHealth {
                table: table.qualified(),
                version: delta.and_then(|d| d.version()),
            }),
            Err(e) => {
                lake.ok = false;
                lake.error = Some(e.to_string());
            }
        }
    }
    let writer = &state.ingest.writer;
    let ingest = IngestHealth {
        ok: !writer.halted(),
        waiting: writer.waiting(),
    };
    let ok = database.ok && lake.ok && ingest.ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let health = Health {
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        database,
        lake,
        ingest,
    };
    (status, Json(health))
}
