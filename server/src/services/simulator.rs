//! The simulator's stream inside the server, as `/admin` starts and stops it: simulated
//! listeners playing now, at a set rate, through the same checks, commit and live re-ranking
//! as any player's listens, so that an admin can watch data arrive and the dashboards move.
//! One stream per server; starting it again changes its rate.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::simulator::{MAX_RATE, SimulatorControl, StreamState};
use app::types::ServerAnswer as Answer;
use chrono::Utc;
use lakehouse::ingest::parse_listen_text;
use lakehouse::simulate::{SimTrack, Simulation, simulate};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::services::ingest::Ingest;
use crate::services::live::LiveRecommendations;

/// How often a batch is committed.
const TICK: Duration = Duration::from_millis(100);
/// The simulated population: the demo's listeners.
const USERS: usize = 200;

/// The server's stream; cheap to clone.
#[derive(Clone)]
pub struct SimulatorStream {
    pool: PgPool,
    ingest: Ingest,
    live: LiveRecommendations,
    running: Arc<Mutex<Option<Running>>>,
}

struct Running {
    rate: u32,
    figures: Arc<Figures>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
struct Figures {
    sent: AtomicU64,
    accepted: AtomicU64,
    ended: AtomicBool,
    error: Mutex<Option<String>>,
}

impl SimulatorStream {
    pub fn new(pool: PgPool, ingest: Ingest, live: LiveRecommendations) -> Self {
        Self {
            pool,
            ingest,
            live,
            running: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state_of(running: Option<&Running>) -> StreamState {
        let Some(running) = running else {
            return StreamState::default();
        };
        let figures = &running.figures;
        StreamState {
            running: !figures.ended.load(Ordering::Relaxed),
            rate: running.rate,
            sent: figures.sent.load(Ordering::Relaxed),
            accepted: figures.accepted.load(Ordering::Relaxed),
            error: figures
                .error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Starts the stream at `rate` listens per second (1 to [`MAX_RATE`]), ending the one
    /// going on, if any.
    pub async fn start(&self, rate: u32) -> Result<StreamState, String> {
        if !(1..=MAX_RATE).contains(&rate) {
            return Err(format!(
                "the rate is from 1 to {MAX_RATE} listens per second"
            ));
        }
        let tracks = lakehouse::gold::tracks::simulation_tracks(&self.pool)
            .await
            .map_err(|e| format!("reading the catalogue: {e}"))?;
        if tracks.is_empty() {
            return Err("the catalogue is empty: import one first".into());
        }
        self.stop().await;
        let (stop, stopped) = watch::channel(false);
        let figures = Arc::new(Figures::default());
        let stream = self.clone();
        let task_figures = figures.clone();
        let task = tokio::spawn(async move {
            let figures = task_figures;
            if let Err(e) = stream.run(rate, tracks, &figures, stopped).await {
                tracing::warn!("the simulator's stream stopped: {e}");
                *figures.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            }
            figures.ended.store(true, Ordering::Relaxed);
        });
        let running = Running {
            rate,
            figures,
            stop,
            task: Some(task),
        };
        // A stream another start began meanwhile ends too.
        if let Some(other) = self.lock().replace(running) {
            let _ = other.stop.send(true);
        }
        Ok(self.state())
    }

    /// Stops the stream (if it runs), waits for its last commit, and answers with its figures.
    pub async fn stop(&self) -> StreamState {
        let task = self.lock().as_mut().and_then(|running| {
            let _ = running.stop.send(true);
            running.task.take()
        });
        if let Some(task) = task {
            let _ = task.await;
        }
        self.state()
    }

    pub fn state(&self) -> StreamState {
        Self::state_of(self.lock().as_ref())
    }

    async fn run(
        &self,
        rate: u32,
        tracks: Vec<SimTrack>,
        figures: &Figures,
        mut stopped: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let per_tick = (f64::from(rate) * TICK.as_secs_f64()).ceil().max(1.0) as usize;
        let mut ticker = tokio::time::interval(TICK);
        let seed = rand::random::<u64>();
        let mut round = 0u64;
        loop {
            let sim = Simulation::ending_today(USERS, 1, 20.0, seed.wrapping_add(round));
            round += 1;
            let listens = simulate(&sim, &tracks);
            if listens.is_empty() {
                return Err("the simulation produced no listens".into());
            }
            for chunk in listens.chunks(per_tick) {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stopped.changed() => return Ok(()),
                }
                if *stopped.borrow() {
                    return Ok(());
                }
                let now = Utc::now().to_rfc3339();
                let rules = self.ingest.rules();
                let accepted: Vec<_> = chunk
                    .iter()
                    .filter_map(|l| {
                        let event = lakehouse::simulate::player_event(l, &now);
                        parse_listen_text(&event.to_string(), &rules).ok()
                    })
                    .collect();
                figures
                    .sent
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                let played = accepted
                    .iter()
                    .map(|l| (l.user_id.clone(), l.track_id.clone()))
                    .collect();
                let count = accepted.len() as u64;
                match self.ingest.submit(accepted, Vec::new()).await {
                    Ok(_) => {
                        figures.accepted.fetch_add(count, Ordering::Relaxed);
                        self.live.on_listens(played);
                    }
                    // A full queue: this batch is dropped, the stream goes on.
                    Err(lakehouse::ingest::IngestError::Busy) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
    }
}

impl SimulatorControl for SimulatorStream {
    fn state(&self) -> StreamState {
        SimulatorStream::state(self)
    }

    fn start(&self, rate: u32) -> Answer<StreamState> {
        let stream = self.clone();
        Box::pin(async move { stream.start(rate).await })
    }

    fn stop(&self) -> Answer<StreamState> {
        let stream = self.clone();
        Box::pin(async move { Ok(stream.stop().await) })
    }
}
