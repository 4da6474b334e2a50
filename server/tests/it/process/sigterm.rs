//! SIGTERM stops the server within seconds, event streams open or not.

use std::time::{Duration, Instant};

use crate::deployment::{Deployment, read};
use crate::support::{ADMIN_TOKEN, client_with_token};

#[tokio::test]
async fn sigterm_stops_the_server_within_seconds_while_event_streams_are_open() {
    let deployment = Deployment::new().await;
    let mut serving = deployment.serve().await;
    let http = client_with_token(ADMIN_TOKEN);
    let mut streams = Vec::new();
    for n in 0..3 {
        let response = http
            .get(format!(
                "{}/api/v1/users/stream-listener-{n}/recommendations/events",
                serving.base
            ))
            .send()
            .await
            .expect("a stream");
        assert_eq!(response.status(), 200);
        let mut response = response;
        let first = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("a first event");
        assert!(matches!(first, Ok(Some(_))), "{first:?}");
        streams.push(response);
    }
    let asked = Instant::now();
    serving.signal("-TERM");
    let status = serving
        .exited_within(Duration::from_secs(4))
        .await
        .unwrap_or_else(|| {
            panic!(
                "still running 4 s after SIGTERM; log:\n{}",
                read(&serving.log)
            )
        });
    assert!(status.success(), "{status}; log:\n{}", read(&serving.log));
    for mut stream in streams {
        let rest = tokio::time::timeout(Duration::from_secs(1), async {
            while let Ok(Some(_)) = stream.chunk().await {}
        })
        .await;
        assert!(rest.is_ok(), "the stream ended");
    }
    println!("stopped {:?} after SIGTERM", asked.elapsed());
    deployment.finish().await;
}
