//! Server-sent event streams fed by a task through a channel. A stream and its task end when
//! the feed ends, when the client goes away, or when the server shuts down, whichever comes
//! first: no task outlives its client waiting for an event that may never come.

use std::convert::Infallible;
use std::future::Future;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc::{self, Sender};

use crate::infra::shutdown::Shutdown;

/// How many events may wait for a slow client.
const BUFFER: usize = 16;

/// A response streaming what `feed` sends: `feed` gets the sending end and runs on its own
/// task until it returns, the response is dropped (the client left), or `shutdown` begins.
pub fn stream_from<F, Fut>(
    shutdown: Shutdown,
    feed: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: FnOnce(Sender<Event>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel::<Event>(BUFFER);
    let watched = sender.clone();
    let feeding = feed(sender);
    let task_shutdown = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = feeding => {}
            () = watched.closed() => {}
            () = task_shutdown.signalled() => {}
        }
    });
    let ending = shutdown;
    let events = futures::stream::unfold(receiver, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    })
    .take_until(Box::pin(async move { ending.signalled().await }));
    Sse::new(events).keep_alive(KeepAlive::default())
}
