//! Group commit: many requests share one Delta commit, and each is acknowledged only after
//! the commit that holds its events.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::Listen;
use crate::bronze::appender::Appender;
use crate::bronze::listens::{self, LISTENS, REJECTED, RejectedListen};
use crate::lake::Lake;

/// How the writer groups submissions into commits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterSettings {
    /// Commit once this many events are waiting.
    pub max_events: usize,
    /// Or once the oldest waiting submission has waited this long.
    pub linger: Duration,
    /// Submissions that may wait; beyond that, submitters are told to come back later.
    pub queue: usize,
    /// A drill: after this many commits to an existing table, flushing the next one to disk
    /// fails (see [`IngestError::NotDurable`]).
    pub fail_flush_after: Option<u64>,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            max_events: 50_000,
            linger: Duration::from_millis(5),
            queue: 512,
            fail_flush_after: None,
        }
    }
}

/// Why a submission was not committed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// Back-pressure: the queue is full. Retry shortly.
    #[error("the ingest queue is full; retry shortly")]
    Busy,
    /// The writer task has ended (the server is shutting down).
    #[error("the ingest writer has stopped")]
    Stopped,
    /// The writer stopped after a commit could not be flushed to disk; it takes listens again
    /// once soundlake restarts.
    #[error("ingest has stopped after a failed flush to disk; it resumes when soundlake restarts")]
    Halted,
    /// The Delta commit failed; nothing of this submission was acknowledged.
    #[error("committing to bronze failed: {0}")]
    Commit(String),
    /// A commit could not be flushed to disk. Its events may or may not be in bronze, and the
    /// writer has stopped: nothing more is acknowledged until soundlake restarts and reads
    /// the lake from disk again.
    #[error("bronze could not be flushed to disk; ingest stops until soundlake restarts: {0}")]
    NotDurable(String),
}

/// Proof that a submission is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestReceipt {
    /// The `bronze/listens` version that holds the submission's accepted events.
    pub listens_version: Option<i64>,
}

struct Submission {
    listens: Vec<Listen>,
    rejected: Vec<RejectedListen>,
    done: oneshot::Sender<Result<IngestReceipt, IngestError>>,
}

/// A handle on the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct IngestWriter {
    queue: mpsc::Sender<Submission>,
    /// Set when the writer stopped after a failed flush ([`IngestError::Halted`]).
    halted: Arc<AtomicBool>,
}

impl IngestWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(lake: Lake, settings: WriterSettings) -> Self {
        let (queue, submissions) = mpsc::channel(settings.queue.max(1));
        let halted = Arc::new(AtomicBool::new(false));
        tokio::spawn(run(lake, settings, submissions, Arc::clone(&halted)));
        Self { queue, halted }
    }

    /// Submissions waiting for the writer.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Whether the writer stopped after a failed flush to disk: it takes no more submissions
    /// until soundlake restarts.
    pub fn halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// Submits events and waits until they are committed.
    pub async fn submit(
        &self,
        listens: Vec<Listen>,
        rejected: Vec<RejectedListen>,
    ) -> Result<IngestReceipt, IngestError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .try_send(Submission {
                listens,
                rejected,
                done,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => IngestError::Busy,
                mpsc::error::TrySendError::Closed(_) => self.stopped_error(),
            })?;
        committed.await.map_err(|_| self.stopped_error())?
    }

    fn stopped_error(&self) -> IngestError {
        if self.halted() {
            IngestError::Halted
        } else {
            IngestError::Stopped
        }
    }
}

async fn run(
    lake: Lake,
    settings: WriterSettings,
    mut submissions: mpsc::Receiver<Submission>,
    halted: Arc<AtomicBool>,
) {
    let mut tables = Tables {
        listens: None,
        rejected: None,
        fail_flush_after: settings.fail_flush_after,
    };
    while let Some(first) = submissions.recv().await {
        let deadline = Instant::now() + settings.linger;
        let mut waiting = first.listens.len() + first.rejected.len();
        let mut group = vec![first];
        while waiting < settings.max_events {
            match tokio::time::timeout_at(deadline, submissions.recv()).await {
                Ok(Some(next)) => {
                    waiting += next.listens.len() + next.rejected.len();
                    group.push(next);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = tables.commit(&lake, &group).await;
        tracing::debug!(elapsed = ?started.elapsed(), submissions = group.len(), events = waiting, "ingest commit");
        if let Err(error) = &result {
            tracing::error!("ingest commit failed: {error}");
        }
        let not_durable = matches!(result, Err(IngestError::NotDurable(_)));
        if not_durable {
            // After a failed fsync the kernel may have dropped the unwritten pages and
            // forgotten the error: a later flush that succeeds would prove nothing. Stop
            // acknowledging; a restart reads the lake back from disk.
            tracing::error!("the ingest writer stops: bronze could not be flushed to disk");
            halted.store(true, Ordering::Release);
            submissions.close();
        }
        for submission in group {
            // A submitter that stopped waiting still has its events committed.
            let _ = submission.done.send(result.clone());
        }
        if not_durable {
            while let Some(waiting) = submissions.recv().await {
                let _ = waiting.done.send(Err(IngestError::Halted));
            }
            return;
        }
    }
}

/// The writer's tables, opened on first use and kept between commits so each commit starts
/// from the version the previous one produced.
struct Tables {
    listens: Option<Appender>,
    rejected: Option<Appender>,
    fail_flush_after: Option<u64>,
}

impl Tables {
    async fn commit(
        &mut self,
        lake: &Lake,
        group: &[Submission],
    ) -> Result<IngestReceipt, IngestError> {
        let now = Utc::now();
        let commit_error = |e: crate::LakehouseError| match e {
            crate::LakehouseError::NotDurable { .. } => IngestError::NotDurable(e.to_string()),
            other => IngestError::Commit(other.to_string()),
        };
        let accepted: Vec<&Listen> = group.iter().flat_map(|s| &s.listens).collect();
        let refused: Vec<&RejectedListen> = group.iter().flat_map(|s| &s.rejected).collect();
        let mut receipt = IngestReceipt {
            listens_version: None,
        };
        // The refused events first: the two tables cannot share a commit, and the listens'
        // commit must be the last step, so that an error always means the listens are not
        // in bronze (a retry then stores them once). A failure after the refused events'
        // commit can store those twice on retry, which changes no listen.
        if !refused.is_empty() {
            let batch = listens::rejected_batch(&refused, now).map_err(commit_error)?;
            open(&mut self.rejected, lake, REJECTED, self.fail_flush_after)
                .await
                .map_err(commit_error)?
                .append(batch)
                .await
                .map_err(commit_error)?;
        }
        if !accepted.is_empty() {
            let batch = super::bronze_rows::listens_batch(&accepted, now).map_err(commit_error)?;
            let version = open(&mut self.listens, lake, LISTENS, self.fail_flush_after)
                .await
                .map_err(commit_error)?
                .append(batch)
                .await
                .map_err(commit_error)?;
            receipt.listens_version = Some(version);
        }
        Ok(receipt)
    }
}

/// The appender in `slot`, opened on first use.
async fn open<'a>(
    slot: &'a mut Option<Appender>,
    lake: &Lake,
    table: crate::lake::TableRef,
    fail_flush_after: Option<u64>,
) -> crate::Result<&'a mut Appender> {
    let appender = match slot.take() {
        Some(appender) => appender,
        None => {
            let mut appender = Appender::open(lake, table).await?;
            if let Some(commits) = fail_flush_after {
                appender.fail_flush_after(commits);
            }
            appender
        }
    };
    Ok(slot.insert(appender))
}
