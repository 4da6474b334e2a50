//! A flood of reads for listeners the model does not know: the server answers each with the
//! popular list, keeps nothing for them, and its memory stays within a fixed bound.

use futures::StreamExt;

use crate::deployment::{Deployment, read, soundlake};
use crate::support::{ADMIN_TOKEN, client_with_token};

/// Reads in all, and of them the warm-up before the first measure.
const READS: usize = 100_000;
const WARM_UP: usize = 10_000;
/// How much the server's resident memory may grow after the warm-up.
const GROWTH_BOUND_KB: u64 = 64 * 1024;

/// The resident memory of process `pid`, in KB.
fn resident_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn reads_for_100_000_unknown_listeners_keep_the_servers_memory_within_a_bound() {
    let deployment = Deployment::new().await;
    deployment.write_demo(2000).await;
    let run = soundlake(&deployment, &["pipeline", "run"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let serving = deployment.serve().await;
    let pid = serving.child.id();
    let http = client_with_token(ADMIN_TOKEN);
    let read_list = |n: usize| {
        let (http, base) = (&http, &serving.base);
        async move {
            let response = http
                .get(format!(
                    "{base}/api/v1/users/stranger-{n:x}/recommendations"
                ))
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("a JSON list");
            (status, body["items"].as_array().map_or(0, Vec::len))
        }
    };

    let mut series = Vec::new();
    for first in (0..READS).step_by(WARM_UP) {
        let answers: Vec<(u16, usize)> = futures::stream::iter(first..first + WARM_UP)
            .map(read_list)
            .buffer_unordered(32)
            .collect()
            .await;
        assert!(
            answers
                .iter()
                .all(|&(status, items)| status == 200 && items > 0),
            "every unknown listener gets the popular list; log:\n{}",
            read(&serving.log)
        );
        series.push(resident_kb(pid));
    }
    // The first measure is taken after the warm-up's reads.
    let grown = series.iter().max().unwrap() - series[0];
    println!(
        "resident memory every {WARM_UP} reads, KB: {series:?}; grown {grown} KB after the warm-up"
    );
    assert!(
        grown <= GROWTH_BOUND_KB,
        "the server grew by {grown} KB over {} reads of unknown listeners: {series:?}",
        READS - WARM_UP
    );
    drop(serving);
    deployment.finish().await;
}
