//! Failed logins per client address: past a limit in a window, that address waits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins one address may make per window.
const FAILURES_PER_WINDOW: u32 = 20;
/// The window.
const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Addresses remembered at most (the oldest windows are dropped first), so that a flood of
/// addresses cannot grow the map without bound.
const MAX_ADDRESSES: usize = 100_000;

/// Failed logins per address, in memory.
#[derive(Clone, Default)]
pub struct AddressThrottle {
    windows: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl AddressThrottle {
    /// How long `address` must wait before its next attempt; `None` when it may try now.
    pub fn wait(&self, address: IpAddr) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (started, failures) = windows.get(&address)?;
        let left = WINDOW.checked_sub(started.elapsed())?;
        (*failures >= FAILURES_PER_WINDOW).then_some(left)
    }

    /// Counts a failed login from `address`.
    pub fn failed(&self, address: IpAddr) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_ADDRESSES {
            windows.retain(|_, (started, _)| started.elapsed() < WINDOW);
            if windows.len() >= MAX_ADDRESSES {
                windows.clear();
            }
        }
        let entry = windows.entry(address).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures_and_others_do_not() {
        let throttle = AddressThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..FAILURES_PER_WINDOW {
            assert!(throttle.wait(a).is_none());
            throttle.failed(a);
        }
        assert!(throttle.wait(a).is_some());
        assert!(throttle.wait(b).is_none());
    }
}
