//! Exported calls that never finish while one of their own wake-ups is still running on
//! another thread, so a Python script can end right after its last call.
//!
//! A foreign caller resumes when the call's future wakes it, and UniFFI runs that wake-up
//! on whichever runtime thread saw the I/O. In Python it is Python code: it takes the GIL,
//! writes to the event loop's pipe, and releases and retakes the GIL around that write. If
//! the script's main thread meanwhile takes the result, returns and starts shutting the
//! interpreter down, CPython ends the runtime thread with `pthread_exit` when it asks for
//! the GIL again, and that forced unwind aborts the process at the first Rust frame
//! ("FATAL: exception not rethrown"). So before a call is polled again or dropped, it
//! waits until every wake-up of its own has returned. The wait is on the caller's thread
//! inside an FFI call, which holds no GIL, and it is normally no wait at all.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Longest a poll waits for a wake-up still running elsewhere: one only hands a note to
/// the caller's event loop, so this bounds a stuck foreign callback, not normal work.
const WAKE_SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

thread_local! {
    /// Wake-ups running on this thread. A caller that resumes inline inside the wake-up
    /// (Kotlin's `Dispatchers.Unconfined`) must not wait for itself.
    static WAKING: Cell<usize> = const { Cell::new(0) };
}

/// `inner`, made to finish only after its wake-ups have (see the module's doc).
pub(crate) async fn settled<F: Future>(inner: F) -> F::Output {
    Settled { inner: Box::pin(inner), gate: Arc::default() }.await
}

struct Settled<F> {
    inner: Pin<Box<F>>,
    gate: Arc<Gate>,
}

/// How many wake-ups of one call are running now.
#[derive(Default)]
struct Gate {
    running: Mutex<usize>,
    quiet: Condvar,
}

impl Gate {
    /// Waits until no wake-up of this call runs on another thread; false when it gave up
    /// after `WAKE_SETTLE_TIMEOUT`.
    fn wait_until_quiet(&self) -> bool {
        if WAKING.with(Cell::get) > 0 {
            return true;
        }
        let deadline = Instant::now() + WAKE_SETTLE_TIMEOUT;
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            running = self.quiet.wait_timeout(running, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }
}

/// Counts one wake-up as running until dropped, also when the callback unwinds.
struct Running<'a>(&'a Gate);

impl<'a> Running<'a> {
    fn enter(gate: &'a Gate) -> Self {
        *gate.running.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        WAKING.with(|w| w.set(w.get() + 1));
        Self(gate)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        WAKING.with(|w| w.set(w.get().saturating_sub(1)));
        let mut running = self.0.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        self.0.quiet.notify_all();
    }
}

/// The waker the inner future sees: it passes each wake-up on to the caller's, counted.
struct CountedWaker {
    gate: Arc<Gate>,
    caller: Waker,
}

impl Wake for CountedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _running = Running::enter(&self.gate);
        self.caller.wake_by_ref();
    }
}

impl<F: Future> Future for Settled<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // A timeout leaves nothing to undo: the wake-up still reaches the caller.
        let _ = self.gate.wait_until_quiet();
        let waker = Waker::from(Arc::new(CountedWaker { gate: Arc::clone(&self.gate), caller: cx.waker().clone() }));
        self.inner.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

impl<F> Drop for Settled<F> {
    fn drop(&mut self) {
        let _ = self.gate.wait_until_quiet();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    use super::settled;

    /// A caller's waker whose wake-up is slow, as Python's is while it waits for the GIL.
    struct SlowCaller {
        entered: Barrier,
        done: AtomicBool,
    }

    impl Wake for SlowCaller {
        fn wake(self: Arc<Self>) {
            self.entered.wait();
            std::thread::sleep(Duration::from_millis(200));
            self.done.store(true, Ordering::SeqCst);
        }
    }

    /// The call's result is taken only after the wake-up that announced it has returned.
    #[test]
    fn a_ready_call_waits_for_its_wake_up_to_return() {
        let (sender, receiver) = tokio::sync::oneshot::channel::<u8>();
        let mut call = Box::pin(settled(receiver));
        let caller = Arc::new(SlowCaller { entered: Barrier::new(2), done: AtomicBool::new(false) });
        let waker = Waker::from(Arc::clone(&caller));
        assert!(call.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        let waking = std::thread::spawn(move || sender.send(7).unwrap());
        caller.entered.wait();
        let polled = call.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(caller.done.load(Ordering::SeqCst), "the result was taken while the wake-up still ran");
        assert!(matches!(polled, Poll::Ready(Ok(7))));
        waking.join().unwrap();
    }

    /// A caller resumed inline by its own wake-up (on the waking thread) does not wait for
    /// itself: without that rule this wait would run out its timeout and report so.
    #[test]
    fn a_wake_up_does_not_wait_for_itself() {
        let gate = super::Gate::default();
        let _running = super::Running::enter(&gate);
        assert!(gate.wait_until_quiet());
    }
}
