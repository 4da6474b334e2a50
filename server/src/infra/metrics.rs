//! The figures `GET /metrics` serves in the OpenMetrics text format Prometheus scrapes: API
//! requests by route (counts by status, latency histograms), ingest (events accepted and
//! refused, commit latency, submissions waiting), the last pipeline run's stages (time and
//! rows) and the model version served.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use sqlx::PgPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route as declared (`/api/v1/users/{user_id}/recommendations`), never the path as
    /// sent, so that ids do not become labels.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
}

type Seconds = Family<RouteLabels, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Latency buckets from 0.25 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The server's figures; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Seconds,
    ingest_events: Family<OutcomeLabels, Counter>,
    ingest_commit_seconds: Histogram,
    ingest_waiting: Gauge,
    model_version: Gauge,
    stage_seconds: Family<StageLabels, FloatGauge>,
    stage_rows_in: Family<StageLabels, Gauge>,
    stage_rows_out: Family<StageLabels, Gauge>,
    last_run_id: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("soundlake");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "API requests answered, by route and status",
            requests.clone(),
        );
        let request_seconds: Seconds = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an API request (to its first byte for event streams), by route",
            request_seconds.clone(),
        );
        let ingest_events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "ingest_events",
            "Listening events committed to bronze, accepted or refused (refused ones are kept \
             with their reason)",
            ingest_events.clone(),
        );
        let ingest_commit_seconds = latency_histogram();
        registry.register(
            "ingest_commit_duration_seconds",
            "Time from an ingest request's submission to its commit (queue wait included)",
            ingest_commit_seconds.clone(),
        );
        let ingest_waiting = Gauge::default();
        registry.register(
            "ingest_queue_depth",
            "Ingest submissions waiting for the writer",
            ingest_waiting.clone(),
        );
        let model_version = Gauge::default();
        registry.register(
            "model_version",
            "The model version recommendations are served from (0: none yet)",
            model_version.clone(),
        );
        let stage_seconds = Family::<StageLabels, FloatGauge>::default();
        registry.register(
            "pipeline_stage_duration_seconds",
            "Time each stage of the last finished pipeline run took",
            stage_seconds.clone(),
        );
        let stage_rows_in = Family::<StageLabels, Gauge>::default();
        registry.register(
            "pipeline_stage_rows_in",
            "Rows each stage of the last finished pipeline run read",
            stage_rows_in.clone(),
        );
        let stage_rows_out = Family::<StageLabels, Gauge>::default();
        registry.register(
            "pipeline_stage_rows_out",
            "Rows each stage of the last finished pipeline run wrote",
            stage_rows_out.clone(),
        );
        let last_run_id = Gauge::default();
        registry.register(
            "pipeline_last_run_id",
            "The last finished pipeline run the stage figures are of (0: none yet)",
            last_run_id.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                ingest_events,
                ingest_commit_seconds,
                ingest_waiting,
                model_version,
                stage_seconds,
                stage_rows_in,
                stage_rows_out,
                last_run_id,
            }),
        }
    }

    /// Counts and times one API request by the route it matched.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let inner = &self.inner;
        inner
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        inner
            .request_seconds
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a committed ingest submission.
    pub fn observe_ingest(&self, accepted: usize, refused: usize, elapsed: Duration) {
        let inner = &self.inner;
        for (outcome, n) in [("accepted", accepted), ("refused", refused)] {
            inner
                .ingest_events
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(n as u64);
        }
        inner.ingest_commit_seconds.observe(elapsed.as_secs_f64());
    }

    /// The figures read when scraped: the submissions waiting for the ingest writer, and from
    /// gold the model version served and the last run.
    pub async fn refresh(&self, ingest_waiting: usize, pool: &PgPool) -> lakehouse::Result<()> {
        let inner = &self.inner;
        inner.ingest_waiting.set(ingest_waiting as i64);
        let version = lakehouse::gold::recommendations::current_version(pool).await?;
        inner.model_version.set(version.unwrap_or(0));
        let runs = lakehouse::pipeline::list_runs(pool, 5).await?;
        if let Some(run) = runs.into_iter().find(|r| r.status != "running") {
            inner.last_run_id.set(run.run_id);
            inner.stage_seconds.clear();
            inner.stage_rows_in.clear();
            inner.stage_rows_out.clear();
            for stage in run.stages {
                let labels = StageLabels { stage: stage.stage };
                if let Some(finished) = stage.finished_at {
                    let seconds = (finished - stage.started_at).num_milliseconds() as f64 / 1e3;
                    inner.stage_seconds.get_or_create(&labels).set(seconds);
                }
                inner
                    .stage_rows_in
                    .get_or_create(&labels)
                    .set(stage.rows_in);
                inner
                    .stage_rows_out
                    .get_or_create(&labels)
                    .set(stage.rows_out);
            }
        }
        Ok(())
    }

    /// The figures in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_encoded_by_declared_route() {
        let metrics = Metrics::new();
        let route = "/api/v1/users/{user_id}/recommendations";
        metrics.observe_request("GET", route, 200, Duration::from_millis(3));
        metrics.observe_request("GET", route, 200, Duration::from_millis(5));
        metrics.observe_ingest(7, 2, Duration::from_millis(4));
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(
                "soundlake_http_requests_total{method=\"GET\",route=\"/api/v1/users/{user_id}/recommendations\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("soundlake_ingest_events_total{outcome=\"accepted\"} 7"));
        assert!(text.contains("soundlake_ingest_events_total{outcome=\"refused\"} 2"));
        assert!(text.contains("soundlake_http_request_duration_seconds_bucket"));
        assert!(text.ends_with("# EOF\n"));
    }
}
