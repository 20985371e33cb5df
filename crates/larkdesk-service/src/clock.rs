//! The server's notion of "now". Production uses the system clock. With `--clock-control` the
//! clock is frozen at the start time and moves only when told to through the admin API, so token
//! expiry and SLA scenarios run instantly and give exact, repeatable timestamps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// The controlled time in milliseconds; `None` for the system clock.
    frozen_ms: Option<Arc<AtomicI64>>,
}

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Clock {
    pub fn system() -> Self {
        Self { frozen_ms: None }
    }

    /// A clock frozen at the current time.
    pub fn controllable() -> Self {
        Self {
            frozen_ms: Some(Arc::new(AtomicI64::new(system_ms()))),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.frozen_ms
            .as_ref()
            .map_or_else(system_ms, |t| t.load(Ordering::Relaxed))
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Move time forward; returns false when time control is disabled.
    pub fn advance_ms(&self, by: i64) -> bool {
        match &self.frozen_ms {
            Some(t) => {
                t.fetch_add(by, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controlled_clock_is_frozen_until_advanced() {
        let clock = Clock::controllable();
        let t0 = clock.now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now_ms(), t0);
        assert!(clock.advance_ms(1500));
        assert_eq!(clock.now_ms(), t0 + 1500);
        assert!(!Clock::system().advance_ms(1));
    }
}
