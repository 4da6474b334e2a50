//! What one `soundlake serve` tells the others on the same database, through PostgreSQL's
//! `LISTEN`/`NOTIFY`: the listens it accepted and the feedback it recorded. Each instance
//! applies what the others say to the lists it keeps, so a listener followed on one instance
//! sees their list move when they play on another.
//!
//! Sending never holds up the request that caused it: messages go to a task that sends them in
//! batches, each batch in one statement. A message the database did not take (PostgreSQL
//! down, the queue full) is lost to the other instances, not to the listener: their lists
//! there catch up on their next listen, or on the next model version.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

/// The notification channel every instance listens on.
pub const CHANNEL: &str = "soundlake_live";
/// PostgreSQL refuses payloads of 8,000 bytes and more.
const MAX_PAYLOAD_BYTES: usize = 7_900;
/// Messages waiting to be sent at most; beyond, new ones are dropped (and logged).
const QUEUE: usize = 10_000;
/// Messages sent in one statement at most.
const BATCH: usize = 256;

/// One thing an instance tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Accepted listens, `(listener, track)` in the order played.
    Listens { listens: Vec<(String, String)> },
    /// A listener's feedback changed; `liked_track` when they liked a track.
    Feedback {
        user: String,
        liked_track: Option<String>,
    },
}

/// A message as it travels: who sent it, so that an instance skips its own.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: u64,
    #[serde(flatten)]
    message: Message,
}

/// The sending side, cheap to clone.
#[derive(Clone, Debug)]
pub struct Signal {
    instance: u64,
    queue: mpsc::Sender<Message>,
}

impl Signal {
    /// Starts the task that sends this instance's messages over `pool`, and returns its
    /// sender.
    pub fn start(pool: PgPool) -> Self {
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let instance = rand::random();
        tokio::spawn(send_batches(pool, instance, outgoing));
        Self { instance, queue }
    }

    /// This instance's id in the messages it sends.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Queues `message` for the other instances (at once; never waits).
    pub fn send(&self, message: Message) {
        if let Err(e) = self.queue.try_send(message) {
            tracing::warn!("a live signal for other instances dropped: {e}");
        }
    }
}

/// The payloads `message` from `instance` travels in: listens split so that each stays under
/// PostgreSQL's limit (a single pair over it, which the ids' limits rule out, is dropped).
fn payloads(instance: u64, message: Message) -> Vec<String> {
    let encode = |message: Message| {
        serde_json::to_string(&Envelope {
            from: instance,
            message,
        })
        .expect("a message encodes")
    };
    let Message::Listens { listens } = message else {
        let payload = encode(message);
        return if payload.len() < MAX_PAYLOAD_BYTES {
            vec![payload]
        } else {
            Vec::new()
        };
    };
    let mut payloads = Vec::new();
    let mut chunk: Vec<(String, String)> = Vec::new();
    let mut bytes = 0;
    // The envelope's own bytes, with room to spare.
    let overhead = 96;
    for (user, track) in listens {
        // As encoded: quotes and backslashes in an id take two bytes each.
        let size =
            serde_json::to_string(&(&user, &track)).map_or(usize::MAX / 2, |pair| pair.len() + 1);
        if size + overhead >= MAX_PAYLOAD_BYTES {
            continue;
        }
        if bytes + size + overhead >= MAX_PAYLOAD_BYTES {
            payloads.push(encode(Message::Listens {
                listens: std::mem::take(&mut chunk),
            }));
            bytes = 0;
        }
        bytes += size;
        chunk.push((user, track));
    }
    if !chunk.is_empty() {
        payloads.push(encode(Message::Listens { listens: chunk }));
    }
    payloads
}

/// Sends queued messages in batches until every sender is gone.
async fn send_batches(pool: PgPool, instance: u64, mut outgoing: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(BATCH);
    while outgoing.recv_many(&mut batch, BATCH).await > 0 {
        let sent: Vec<String> = batch
            .drain(..)
            .flat_map(|message| payloads(instance, message))
            .collect();
        if let Err(e) = notify(&pool, &sent).await {
            tracing::warn!(
                messages = sent.len(),
                "live signals to other instances lost: {e}"
            );
        }
    }
}

/// Sends `payloads` on [`CHANNEL`] in one statement (in order).
async fn notify(pool: &PgPool, payloads: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_notify($1, payload)
         FROM unnest($2::text[]) WITH ORDINALITY AS sent(payload, n)
         ORDER BY n",
        CHANNEL,
        payloads,
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Receives the other instances' messages and hands each to `apply`, until the process ends.
/// A lost connection is reopened (what was sent meanwhile is missed).
pub fn spawn_receiver(
    pool: PgPool,
    instance: u64,
    apply: impl Fn(Message) + Send + Sync + 'static,
) {
    tokio::spawn(async move {
        loop {
            match receive(&pool, instance, &apply).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!("live signal from other instances: {e}; listening again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}

async fn receive(
    pool: &PgPool,
    instance: u64,
    apply: &impl Fn(Message),
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        match serde_json::from_str::<Envelope>(notification.payload()) {
            Ok(envelope) if envelope.from == instance => {}
            Ok(envelope) => apply(envelope.message),
            Err(e) => tracing::warn!("an unreadable live signal ignored: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listens(n: usize, id_bytes: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("{i:0>id_bytes$}"), format!("t{i:0>id_bytes$}")))
            .collect()
    }

    fn decoded(payloads: &[String]) -> Vec<Envelope> {
        payloads
            .iter()
            .map(|p| serde_json::from_str(p).expect("a payload decodes"))
            .collect()
    }

    #[test]
    fn many_listens_travel_in_payloads_under_the_limit_in_order_and_all_of_them() {
        let sent = listens(5_000, 120);
        let payloads = payloads(
            7,
            Message::Listens {
                listens: sent.clone(),
            },
        );
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < MAX_PAYLOAD_BYTES));
        let mut received = Vec::new();
        for envelope in decoded(&payloads) {
            assert_eq!(envelope.from, 7);
            match envelope.message {
                Message::Listens { listens } => received.extend(listens),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(received, sent);
    }

    #[test]
    fn a_few_listens_and_feedback_travel_in_one_payload_each() {
        let few = payloads(
            1,
            Message::Listens {
                listens: listens(3, 10),
            },
        );
        assert_eq!(few.len(), 1);
        let feedback = Message::Feedback {
            user: "u".into(),
            liked_track: Some("t".into()),
        };
        let one = payloads(1, feedback.clone());
        assert_eq!(decoded(&one)[0].message, feedback);
    }

    #[test]
    fn ids_whose_characters_take_two_bytes_encoded_still_travel_under_the_limit() {
        let quoted: Vec<(String, String)> = (0..200)
            .map(|i| (format!("{i}{}", "\"".repeat(120)), "\\".repeat(128)))
            .collect();
        let payloads = payloads(
            3,
            Message::Listens {
                listens: quoted.clone(),
            },
        );
        assert!(payloads.iter().all(|p| p.len() < MAX_PAYLOAD_BYTES));
        let received: Vec<(String, String)> = decoded(&payloads)
            .into_iter()
            .flat_map(|e| match e.message {
                Message::Listens { listens } => listens,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(received, quoted);
    }

    #[test]
    fn a_pair_too_long_for_any_payload_is_left_out_and_the_rest_still_travels() {
        let mut sent = listens(2, 10);
        sent.insert(1, ("u".repeat(MAX_PAYLOAD_BYTES), "t".into()));
        let payloads = payloads(1, Message::Listens { listens: sent });
        match &decoded(&payloads)[0].message {
            Message::Listens { listens } => assert_eq!(listens.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
