//! Server-sent event streams fed by a task through a channel.

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::mpsc::Receiver;

/// The events the receiving end gets, as a response that keeps the connection alive; the
/// stream ends when every sender is gone.
pub fn stream_of(events: Receiver<Event>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures::stream::unfold(events, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
