//! The ML stage's memory at a size CI can afford: `soundlake-bench pipeline` over a million
//! simulated listens in a process of its own, and each ML step's peak resident memory read
//! from the table it prints.

use std::process::Command;

/// Every step of the ML stage stays under this at a million listens (the stage reached 3.2 GB
/// there when the hybrid's top-k lists kept the capacity of the whole catalogue).
const ML_PEAK_MB: u64 = 1_500;

#[test]
fn the_ml_stage_stays_under_its_memory_bound_at_a_million_listens() {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_soundlake-bench"))
        .args(["pipeline", "--listens", "1000000"])
        .env("DATABASE_URL", url)
        .env("SOUNDLAKE_DATA_DIR", data.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let steps = step_peaks(&text);
    let names: Vec<&str> = steps.iter().map(|(step, _)| step.as_str()).collect();
    for step in ["interactions", "evaluation", "training", "lists", "publish"] {
        assert!(names.contains(&step), "{step} in {names:?}\n{text}");
    }
    for (step, mb) in &steps {
        assert!(*mb < ML_PEAK_MB, "{step} peaked at {mb} MB\n{text}");
    }
}

/// (step, peak MB) of the `ml step` table: `<step words> <seconds> <peak> MB`.
fn step_peaks(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .skip_while(|l| !l.starts_with("ml step"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let [step @ .., _seconds, peak, "MB"] = words.as_slice() else {
                return None;
            };
            Some((step.join(" "), peak.parse().ok()?))
        })
        .collect()
}
