//! Fixed-window rate limits for `POST /v1/connect`, per client address and per token. The
//! table is bounded: when full, windows that have ended are dropped first, then all.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixSeconds;

/// Most keys tracked at once, so a flood of addresses cannot grow memory without bound.
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// `limit` requests per `window_secs` for each key.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_secs: u64,
    windows: Mutex<HashMap<String, (UnixSeconds, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window_secs: u64) -> Self {
        Self { limit, window_secs: window_secs.max(1), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request for `key` at `now`; on refusal, the seconds until the window ends.
    pub fn check(&self, key: &str, now: UnixSeconds) -> Result<(), u64> {
        let start = now - now % self.window_secs;
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED_KEYS && !windows.contains_key(key) {
            windows.retain(|_, (window, _)| *window == start);
            if windows.len() >= MAX_TRACKED_KEYS {
                windows.clear();
            }
        }
        let entry = windows.entry(key.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= self.limit {
            return Err(start + self.window_secs - now);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let limiter = RateLimiter::new(2, 60);
        assert_eq!(limiter.check("a", 120), Ok(()));
        assert_eq!(limiter.check("a", 121), Ok(()));
        assert_eq!(limiter.check("a", 130), Err(50));
        assert_eq!(limiter.check("b", 130), Ok(()));
        assert_eq!(limiter.check("a", 180), Ok(()));
    }
}
