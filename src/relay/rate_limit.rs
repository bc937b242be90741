//! Fixed-window rate limits for `POST /v1/connect`, per client address and per token. The
//! table is bounded: when full, windows that have ended are dropped, and if it is still
//! full, new keys are refused until the window turns.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixSeconds;

/// Most keys tracked at once, so a flood of addresses cannot grow memory without bound.
pub(super) const MAX_TRACKED_KEYS: usize = 100_000;

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
                // Refuse newcomers rather than forget everyone's count.
                return Err(start + self.window_secs - now);
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

/// The rate-limit key of a client address: IPv4 as is, IPv6 by its /64, since one host
/// commonly holds a whole /64.
pub(super) fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
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

    #[test]
    fn ipv6_hosts_share_their_64() {
        let a: std::net::IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
