//! The server's shutdown, as a signal that long-lived responses end on: an event stream stays
//! open until its client leaves, so a graceful shutdown would otherwise wait for every
//! subscribed browser to close its tab.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How long open connections get to finish once shutdown has begun; after that the server
/// stops without them.
pub const GRACE: Duration = Duration::from_secs(5);

/// A shutdown signal that any number of tasks can wait for; cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            sender: Arc::new(watch::channel(false).0),
        }
    }
}

impl Shutdown {
    /// Begins the shutdown: every [`Shutdown::signalled`] future completes.
    pub fn begin(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the shutdown has begun.
    pub fn has_begun(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes once the shutdown has begun (at once if it already has).
    pub async fn signalled(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|begun| *begun).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_waiter_wakes_once_the_shutdown_begins() {
        let shutdown = Shutdown::default();
        let waiter = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.signalled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished() && !shutdown.has_begun());
        shutdown.begin();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("the waiter woke")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(1), shutdown.signalled())
            .await
            .expect("a late waiter returns at once");
    }
}
