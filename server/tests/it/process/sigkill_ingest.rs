//! Every acknowledged listen survives a SIGKILL of the server, exactly once and as sent.

use std::collections::HashMap;
use std::time::Duration;

use super::event;
use crate::deployment::{Deployment, post_listens, stored_events};
use crate::support::{ADMIN_TOKEN, client_with_token};

/// Posts batches of 200 events as fast as the server takes them until it stops answering;
/// returns the events it acknowledged, by id.
async fn ingest_until_gone(base: String, client: usize, trial: usize) -> HashMap<String, String> {
    let http = client_with_token(ADMIN_TOKEN);
    let mut acknowledged = HashMap::new();
    for batch in 0.. {
        let events: Vec<(String, String)> = (0..200)
            .map(|i| {
                let n = batch * 200 + i;
                (
                    format!("crash-{trial}-{client}-{n}"),
                    event(client, trial, n),
                )
            })
            .collect();
        let answered = post_listens(&http, &base, &events).await;
        match answered {
            Ok(r) if r.status().is_success() => acknowledged.extend(events),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {}
            Ok(r) => panic!("unexpected answer {}", r.status()),
            Err(_) => break,
        }
    }
    acknowledged
}

#[tokio::test]
async fn every_acknowledged_listen_survives_sigkill_of_the_server_exactly_once() {
    let deployment = Deployment::new().await;
    let mut acknowledged = HashMap::new();
    for trial in 0..10 {
        let serving = deployment.serve().await;
        let clients: Vec<_> = (0..4)
            .map(|client| tokio::spawn(ingest_until_gone(serving.base.clone(), client, trial)))
            .collect();
        // A different moment of the commit cycle in each trial.
        tokio::time::sleep(Duration::from_millis(150 + 97 * trial as u64)).await;
        drop(serving); // SIGKILL
        for client in clients {
            acknowledged.extend(client.await.expect("a client task"));
        }
    }
    assert!(
        acknowledged.len() >= 10_000,
        "{} acknowledged",
        acknowledged.len()
    );

    // A last start proves the lake the kills left behind still takes commits.
    let serving = deployment.serve().await;
    let last = ingest_once(&serving.base).await;
    acknowledged.extend(last);
    drop(serving);

    let stored = stored_events(&deployment.lake()).await;
    for (id, sent) in &acknowledged {
        let (raw, copies) = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged event {id} is not in bronze"));
        assert_eq!(raw, sent, "{id} is stored as sent");
        assert_eq!(*copies, 1, "{id} is stored once");
    }
    deployment.finish().await;
}

async fn ingest_once(base: &str) -> HashMap<String, String> {
    let events: Vec<(String, String)> = (0..10)
        .map(|n| (format!("crash-last-0-{n}"), event(0, 99, n)))
        .map(|(_, e)| {
            let id = serde_json::from_str::<serde_json::Value>(&e).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned();
            (id, e)
        })
        .collect();
    let answer = post_listens(&client_with_token(ADMIN_TOKEN), base, &events)
        .await
        .expect("answered");
    assert!(answer.status().is_success(), "{}", answer.status());
    events.into_iter().collect()
}
