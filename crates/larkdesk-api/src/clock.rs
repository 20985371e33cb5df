//! The server's notion of "now". Production uses the system clock; tests and emulator users can
//! enable an adjustable offset (`--clock-control`) and move time forward through the admin API,
//! so token expiry and SLA scenarios run instantly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` when time control is disabled.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { offset_ms: None }
    }

    pub fn controllable() -> Self {
        Self {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    pub fn is_controllable(&self) -> bool {
        self.offset_ms.is_some()
    }

    pub fn now_ms(&self) -> i64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        system + self.offset_ms.as_ref().map_or(0, |o| o.load(Ordering::Relaxed))
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Move time forward; returns false when time control is disabled.
    pub fn advance_ms(&self, by: i64) -> bool {
        match &self.offset_ms {
            Some(offset) => {
                offset.fetch_add(by, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}
