//! A token bucket per client address: what the API's and the ListenBrainz routes' rate limits
//! count with.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Addresses remembered at most; beyond, the buckets start over.
const MAX_ADDRESSES: usize = 100_000;

/// A token bucket per client address: `per_second` requests, bursts of twice as many.
#[derive(Clone)]
pub struct RateLimit {
    per_second: u32,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

impl RateLimit {
    /// `per_second` requests per address (0: no limit).
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            buckets: Arc::default(),
        }
    }

    /// Takes a token for `address`; `false` when it has none left.
    pub fn allow(&self, address: IpAddr) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let burst = rate * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&address) {
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < burst);
            if buckets.len() >= MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(address).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_held_back() {
        let limit = RateLimit::new(5);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let allowed = (0..30).filter(|_| limit.allow(a)).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
        assert!(limit.allow(b));
        assert!((0..1000).all(|_| RateLimit::new(0).allow(a)));
    }
}
