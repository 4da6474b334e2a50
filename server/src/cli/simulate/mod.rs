//! `soundlake simulate`: listening histories over the catalogue, written to bronze through the
//! same path as the ingest API, or posted to a running server (`--stream`).

pub mod stream;

use anyhow::Result;
use app::types::format_count;
use clap::Args;
use lakehouse::gold::recommendations::{TrackWord, record_track_feedback};
use lakehouse::ingest::IngestWriter;
use lakehouse::simulate::Simulation;
use sqlx::PgPool;

use super::seconds;
use crate::infra::config::Config;
use crate::infra::database::Database;
use stream::StreamTarget;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Mean listens per active user per day.
    #[arg(long, default_value_t = 20.0)]
    listens_per_day: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Post to the server at this base URL (e.g. http://127.0.0.1:3000) instead of writing
    /// to the lake, stamping each listen with the time it is sent, until Ctrl-C.
    #[arg(long)]
    stream: Option<String>,
    /// Listens per second in --stream mode.
    #[arg(long, default_value_t = 100, requires = "stream")]
    rate: u32,
    /// In --stream mode, stop after sending this many listens.
    #[arg(long, requires = "stream")]
    limit: Option<u64>,
    /// In --stream mode, the API token to post with: an ingest token
    /// (`soundlake tokens create ADMIN --scope ingest`) or an admin's.
    #[arg(
        long,
        env = "SOUNDLAKE_TOKEN",
        requires = "stream",
        hide_env_values = true
    )]
    token: Option<String>,
}

pub async fn run(config: &Config, args: SimulateArgs) -> Result<()> {
    let sim = Simulation::ending_today(args.users, args.days, args.listens_per_day, args.seed);
    let stream = match (args.stream, args.token) {
        (Some(url), Some(token)) => Some((StreamTarget { url, token }, args.rate, args.limit)),
        (Some(_), None) => anyhow::bail!(
            "--stream needs an API token that may post listens: --token or SOUNDLAKE_TOKEN \
             (soundlake tokens create <admin> --scope ingest)"
        ),
        (None, _) => None,
    };
    simulate(config, &sim, stream).await
}

/// `soundlake simulate`: a listening history over the catalogue, written to bronze, or with
/// `stream = Some((target, rate, limit))` posted to a running server at `rate` listens per
/// second.
async fn simulate(
    config: &Config,
    sim: &Simulation,
    stream: Option<(StreamTarget, u32, Option<u64>)>,
) -> Result<()> {
    let lake = config.lake()?;
    let database = Database::open(config).await?;
    let result = match stream {
        Some((target, rate, limit)) => {
            match lakehouse::gold::tracks::simulation_tracks(&database.pool).await {
                Ok(tracks) => stream::stream(&target, rate, *sim, &tracks, limit)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e.into()),
            }
        }
        // Only a simulation into the lake writes to it (a stream posts to a server).
        None => match lake.check_conditional_writes().await {
            Ok(()) => {
                let writer = IngestWriter::start(lake, Default::default());
                backfill(&database.pool, &writer, sim).await
            }
            Err(e) => Err(e.into()),
        },
    };
    database.close().await;
    result
}

/// Writes `sim`'s listens over the catalogue to bronze through `writer`, and the feedback given
/// during the history to gold.
pub(crate) async fn backfill(pool: &PgPool, writer: &IngestWriter, sim: &Simulation) -> Result<()> {
    let tracks = lakehouse::gold::tracks::simulation_tracks(pool).await?;
    if tracks.is_empty() {
        anyhow::bail!(
            "the catalogue is empty: import one (soundlake import catalog PATH) or run soundlake serve once"
        );
    }
    let report = lakehouse::simulate::backfill(sim, &tracks, writer, |done, total| {
        eprint!(
            "\r  written {} of {} events",
            format_count(done as i64),
            format_count(total as i64)
        );
    })
    .await?;
    eprintln!();
    let words: Vec<TrackWord> = report
        .feedback
        .iter()
        .map(|f| TrackWord {
            user_id: &f.user_id,
            track_id: &f.track_id,
            kind: if f.like { "like" } else { "dislike" },
            at: f.at,
        })
        .collect();
    let recorded = record_track_feedback(pool, &words).await?;
    let rate = report.events as f64 / report.write.as_secs_f64().max(1e-9);
    println!(
        "simulated {} listens ({} users, {} days) in {}, written to bronze/listens in {} ({} events/s); {} likes and dislikes of tracks recorded",
        format_count(report.events as i64),
        sim.users,
        sim.days,
        seconds(report.generate),
        seconds(report.write),
        format_count(rate as i64),
        format_count(recorded as i64)
    );
    Ok(())
}
