//! The ML stage's steps, each timed with the peak memory it reached, so that a run (and
//! `soundlake-bench pipeline`) shows where the stage's time and memory go as the lake grows.

use std::time::Instant;

/// One step's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepFigures {
    pub step: &'static str,
    pub seconds: f64,
    /// The process's peak resident memory during the step, in bytes (Linux only).
    pub peak_rss: Option<u64>,
}

/// Times steps one after another. Starting a step ends the one before.
#[derive(Debug, Default)]
pub struct StepClock {
    current: Option<(&'static str, Instant)>,
    done: Vec<StepFigures>,
}

impl StepClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the running step, if any, and starts `step`.
    pub fn start(&mut self, step: &'static str) {
        self.stop();
        reset_peak_rss();
        self.current = Some((step, Instant::now()));
    }

    /// Ends the running step, if any.
    pub fn stop(&mut self) {
        if let Some((step, started)) = self.current.take() {
            self.done.push(StepFigures {
                step,
                seconds: started.elapsed().as_secs_f64(),
                peak_rss: peak_rss(),
            });
        }
    }

    /// Appends figures measured by another clock (on another thread).
    pub fn extend(&mut self, figures: Vec<StepFigures>) {
        self.stop();
        self.done.extend(figures);
    }

    /// Every finished step, in order.
    pub fn finish(mut self) -> Vec<StepFigures> {
        self.stop();
        self.done
    }
}

/// Resets the process's peak resident memory (Linux; elsewhere nothing happens), so that the
/// next reading covers what follows.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last reset, in bytes (Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_recorded_in_order_each_once() {
        let mut clock = StepClock::new();
        clock.start("a");
        clock.start("b");
        clock.stop();
        clock.stop();
        let steps = clock.finish();
        let names: Vec<&str> = steps.iter().map(|s| s.step).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(steps.iter().all(|s| s.seconds >= 0.0));
        if cfg!(target_os = "linux") {
            assert!(steps.iter().all(|s| s.peak_rss.is_some_and(|b| b > 0)));
        }
    }
}
