//! In-process wake-ups for long-polls and event streams: a writer notifies a key (a
//! mailbox, a pairing) and every task waiting on that key re-reads the database. The
//! database stays the only source of truth; a wake-up only says "look again".

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// Keyed wake-ups. Entries live only while someone waits, so the map stays as small as
/// the number of open long-polls.
#[derive(Debug)]
pub struct Hub<K> {
    waiters: Mutex<HashMap<K, Arc<Notify>>>,
    closing: AtomicBool,
    /// Shared by every key: fires on shutdown.
    shutdown: Notify,
}

impl<K: Eq + Hash + Clone> Default for Hub<K> {
    fn default() -> Self {
        Self { waiters: Mutex::new(HashMap::new()), closing: AtomicBool::new(false), shutdown: Notify::new() }
    }
}

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// Someone notified the key (or the re-check interval passed): read again.
    Notified,
    /// The deadline passed.
    TimedOut,
    /// The server is shutting down: answer now.
    Closing,
}

impl<K: Eq + Hash + Clone> Hub<K> {
    /// Wakes every task waiting on `key`.
    pub fn notify(&self, key: &K) {
        let waiters = self.waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(notify) = waiters.get(key) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiter for good: long-polls answer at once, streams end.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Registers interest in `key`. Register before reading the database, then
    /// [`Subscription::wait`]: a notification between the read and the wait is not lost.
    pub fn subscribe(self: &Arc<Self>, key: K) -> Subscription<K> {
        let notify = {
            let mut waiters = self.waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            waiters.entry(key.clone()).or_default().clone()
        };
        Subscription { hub: self.clone(), key, notify }
    }

    fn release(&self, key: &K) {
        let mut waiters = self.waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Two references left: the map's and the subscription being dropped.
        if waiters.get(key).is_some_and(|n| Arc::strong_count(n) <= 2) {
            waiters.remove(key);
        }
    }

    /// How many keys have waiters (for tests and metrics).
    pub fn keys_waited_on(&self) -> usize {
        self.waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

/// Interest in one key; dropping it forgets the key when nobody else waits.
pub struct Subscription<K: Eq + Hash + Clone> {
    hub: Arc<Hub<K>>,
    key: K,
    notify: Arc<Notify>,
}

impl<K: Eq + Hash + Clone> Subscription<K> {
    /// A wait that cannot miss a notification sent after this call returns.
    pub fn armed(&self) -> Armed<'_> {
        let mut notified = Box::pin(self.notify.notified());
        notified.as_mut().enable();
        let mut closing = Box::pin(self.hub.shutdown.notified());
        closing.as_mut().enable();
        Armed { notified, closing, closing_flag: self.hub.is_closing() }
    }
}

impl<K: Eq + Hash + Clone> Drop for Subscription<K> {
    fn drop(&mut self) {
        self.hub.release(&self.key);
    }
}

/// An armed wait: create it, read the database, then [`Armed::wait`] if there was nothing.
pub struct Armed<'a> {
    notified: std::pin::Pin<Box<tokio::sync::futures::Notified<'a>>>,
    closing: std::pin::Pin<Box<tokio::sync::futures::Notified<'a>>>,
    closing_flag: bool,
}

impl Armed<'_> {
    /// Waits for a notification, shutdown, or `timeout`. With `recheck`, also returns
    /// `Notified` after that interval: other instances sharing the database cannot wake us.
    pub async fn wait(self, timeout: Duration, recheck: Option<Duration>) -> Woken {
        if self.closing_flag {
            return Woken::Closing;
        }
        let recheck = async {
            match recheck {
                Some(interval) if interval < timeout => tokio::time::sleep(interval).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.notified => Woken::Notified,
            _ = self.closing => Woken::Closing,
            _ = recheck => Woken::Notified,
            _ = tokio::time::sleep(timeout) => Woken::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notification_after_arming_is_not_lost_and_keys_are_released() {
        let hub: Arc<Hub<String>> = Arc::default();
        let sub = hub.subscribe("a".to_owned());
        let armed = sub.armed();
        hub.notify(&"b".to_owned());
        hub.notify(&"a".to_owned());
        assert_eq!(armed.wait(Duration::from_secs(5), None).await, Woken::Notified);
        assert_eq!(sub.armed().wait(Duration::from_millis(10), None).await, Woken::TimedOut);
        assert_eq!(hub.keys_waited_on(), 1);
        drop(sub);
        assert_eq!(hub.keys_waited_on(), 0);
    }

    #[tokio::test]
    async fn close_ends_every_wait() {
        let hub: Arc<Hub<u32>> = Arc::default();
        let sub = hub.subscribe(1);
        let armed = sub.armed();
        hub.close();
        assert_eq!(armed.wait(Duration::from_secs(5), None).await, Woken::Closing);
        assert_eq!(sub.armed().wait(Duration::from_secs(5), None).await, Woken::Closing);
    }
}
