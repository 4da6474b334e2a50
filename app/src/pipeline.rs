//! Pipeline runs as the admin page shows them (the JSON of `GET /api/v1/pipeline/runs`,
//! trimmed to what an admin reads at a glance).

use serde::{Deserialize, Serialize};

use crate::types::format_count;

/// One run of the pipeline and its stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub run_id: i64,
    /// What started it: `schedule`, `api`, `cli`.
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// RFC 3339.
    pub started_at: String,
    /// Seconds from start to end; `None` while running.
    pub seconds: Option<f64>,
    pub error: Option<String>,
    pub stages: Vec<PipelineStage>,
}

/// One stage of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineStage {
    pub stage: String,
    /// `running`, `succeeded`, `skipped` or `failed`.
    pub status: String,
    pub seconds: Option<f64>,
    pub rows_in: i64,
    pub rows_out: i64,
    pub rows_rejected: i64,
    pub error: Option<String>,
}

impl PipelineStage {
    /// "1,204 in → 1,180 out, 24 rejected", leaving out what is zero.
    pub fn rows(&self) -> String {
        let mut parts = Vec::new();
        if self.rows_in > 0 || self.rows_out > 0 {
            parts.push(format!(
                "{} in → {} out",
                format_count(self.rows_in),
                format_count(self.rows_out)
            ));
        }
        if self.rows_rejected > 0 {
            parts.push(format!("{} rejected", format_count(self.rows_rejected)));
        }
        parts.join(", ")
    }
}

/// Seconds as "0.8 s", "12 s" or "3 min 05 s".
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(feature = "ssr")]
mod from_records {
    use lakehouse::pipeline::{RunRecord, StageRecord};

    use super::*;

    fn seconds_between(
        start: chrono::DateTime<chrono::Utc>,
        end: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Option<f64> {
        end.map(|end| (end - start).num_milliseconds() as f64 / 1000.0)
    }

    impl From<StageRecord> for PipelineStage {
        fn from(s: StageRecord) -> Self {
            Self {
                seconds: seconds_between(s.started_at, s.finished_at),
                stage: s.stage,
                status: s.status,
                rows_in: s.rows_in,
                rows_out: s.rows_out,
                rows_rejected: s.rows_rejected,
                error: s.error,
            }
        }
    }

    impl From<RunRecord> for PipelineRun {
        fn from(r: RunRecord) -> Self {
            Self {
                run_id: r.run_id,
                seconds: seconds_between(r.started_at, r.finished_at),
                started_at: r.started_at.to_rfc3339(),
                trigger: r.trigger,
                status: r.status,
                error: r.error,
                stages: r.stages.into_iter().map(Into::into).collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_row_counts_read_as_people_write_them() {
        assert_eq!(duration(0.84), "0.8 s");
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        let stage = PipelineStage {
            stage: "silver_listens".into(),
            status: "succeeded".into(),
            seconds: Some(1.0),
            rows_in: 1_204,
            rows_out: 1_180,
            rows_rejected: 24,
            error: None,
        };
        assert_eq!(stage.rows(), "1,204 in → 1,180 out, 24 rejected");
        let nothing = PipelineStage {
            rows_in: 0,
            rows_out: 0,
            rows_rejected: 0,
            ..stage
        };
        assert_eq!(nothing.rows(), "");
    }
}
