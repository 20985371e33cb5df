//! `GET /metrics`: Prometheus text. Counted per request with relaxed atomic adds only (no lock,
//! no allocation, no label strings): responses by HTTP status and a latency histogram. The
//! text is built when scraped, with the journal's size and the readiness of nothing else (the
//! scrape must stay cheap; `/readyz` asks the database).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::state::SharedState;

pub const PATH: &str = "/metrics";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Statuses 100..=599 each get a counter.
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

pub struct Metrics {
    by_status: Box<[AtomicU64]>,
    /// Requests at or under each bound (not cumulative; summed when rendered), then above all.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_micros: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            by_status: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_micros: AtomicU64::new(0),
        }
    }

    /// Count one response.
    pub fn observe(&self, status: u16, latency: Duration) {
        if let Some(counter) = status
            .checked_sub(FIRST_STATUS)
            .and_then(|i| self.by_status.get(usize::from(i)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = latency.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The Prometheus text exposition.
    pub fn render(&self, journal_entries: usize) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP larkdesk_http_requests_total Responses sent, by HTTP status.\n");
        out.push_str("# TYPE larkdesk_http_requests_total counter\n");
        for (i, counter) in self.by_status.iter().enumerate() {
            let n = counter.load(Ordering::Relaxed);
            if n > 0 {
                let status = usize::from(FIRST_STATUS) + i;
                let _ = writeln!(out, "larkdesk_http_requests_total{{status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP larkdesk_http_request_duration_seconds Time from request to response.\n");
        out.push_str("# TYPE larkdesk_http_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, counter) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += counter.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "larkdesk_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "larkdesk_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "larkdesk_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "larkdesk_http_request_duration_seconds_count {cumulative}");
        out.push_str("# HELP larkdesk_journal_entries Requests kept by the request journal.\n");
        out.push_str("# TYPE larkdesk_journal_entries gauge\n");
        let _ = writeln!(out, "larkdesk_journal_entries {journal_entries}");
        out
    }
}

pub async fn metrics(State(state): State<SharedState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(state.journal.len()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_statuses_and_latencies() {
        let m = Metrics::new();
        m.observe(200, Duration::from_micros(300));
        m.observe(200, Duration::from_millis(3));
        m.observe(429, Duration::from_secs(10));
        m.observe(42, Duration::ZERO);
        let text = m.render(7);
        assert!(
            text.contains("larkdesk_http_requests_total{status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("larkdesk_http_requests_total{status=\"429\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("status=\"42\""), "{text}");
        assert!(text.contains("_bucket{le=\"0.0005\"} 2\n"), "{text}");
        assert!(text.contains("_bucket{le=\"0.005\"} 3\n"), "{text}");
        assert!(text.contains("_bucket{le=\"2.5\"} 3\n"), "{text}");
        assert!(text.contains("_bucket{le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("_count 4\n"), "{text}");
        assert!(text.contains("larkdesk_journal_entries 7\n"), "{text}");
    }
}
