//! Request log ids: every response carries `X-Tt-Logid`, and error bodies repeat it in
//! `error.log_id`. The id lives in a task-local for the duration of the request so that errors
//! built anywhere below the middleware can read it.

use axum::http::{HeaderName, HeaderValue};
use rand::Rng;

/// A log id: 34 ASCII bytes, kept inline so that giving every request one costs no allocation.
#[derive(Clone, Copy)]
pub struct LogId([u8; 34]);

impl LogId {
    /// Feishu's shape: 14-digit UTC timestamp (`YYYYMMDDhhmmss`) + 20 upper-case hex digits.
    pub fn new() -> Self {
        let mut id = [0u8; 34];
        id[..14].copy_from_slice(&timestamp_digits());
        let mut random = [0u8; 10];
        rand::rng().fill(&mut random);
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for (pair, byte) in id[14..].chunks_exact_mut(2).zip(random) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("log ids are ASCII")
    }
}

/// `YYYYMMDDhhmmss` of the current UTC second. Each thread remembers the last second it
/// formatted: a calendar conversion per request was most of a log id's cost.
fn timestamp_digits() -> [u8; 14] {
    use std::cell::Cell;
    thread_local! {
        static LAST: Cell<(u64, [u8; 14])> = const { Cell::new((u64::MAX, [0; 14])) };
    }
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    LAST.with(|last| {
        let (cached_second, digits) = last.get();
        if cached_second == second {
            return digits;
        }
        let digits = format_timestamp(second);
        last.set((second, digits));
        digits
    })
}

fn format_timestamp(unix_seconds: u64) -> [u8; 14] {
    let now = i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut out = [0u8; 14];
    let mut digits = |at: usize, width: usize, mut value: u32| {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    digits(0, 4, now.year().clamp(0, 9999) as u32);
    digits(4, 2, u8::from(now.month()).into());
    digits(6, 2, now.day().into());
    digits(8, 2, now.hour().into());
    digits(10, 2, now.minute().into());
    digits(12, 2, now.second().into());
    out
}

impl Default for LogId {
    fn default() -> Self {
        Self::new()
    }
}

/// Lower case: hyper title-cases it on the wire (`X-Tt-Logid`, as Feishu sends it).
const LOG_ID_HEADER: HeaderName = HeaderName::from_static("x-tt-logid");

tokio::task_local! {
    static LOG_ID: LogId;
}

/// A fresh log id as a string.
pub fn new_log_id() -> String {
    LogId::new().as_str().to_owned()
}

/// The current request's log id (a fresh one outside a request).
pub fn current() -> String {
    LOG_ID
        .try_with(|id| id.as_str().to_owned())
        .unwrap_or_else(|_| new_log_id())
}

/// Run `request` with a new log id and put that id in the response's `X-Tt-Logid`.
pub async fn with_log_id<F>(request: F) -> axum::response::Response
where
    F: std::future::Future<Output = axum::response::Response>,
{
    let log_id = LogId::new();
    let mut response = LOG_ID.scope(log_id, request).await;
    response.headers_mut().insert(
        LOG_ID_HEADER,
        HeaderValue::from_bytes(&log_id.0).expect("log ids are valid header values"),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_utc_calendar_digits() {
        // 2026-11-25T15:33:38Z
        assert_eq!(&super::format_timestamp(1_795_620_818), b"20261125153338");
        assert_eq!(&super::format_timestamp(0), b"19700101000000");
        // A remembered second is the current one.
        let before = super::format_timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        let cached = super::timestamp_digits();
        let after = super::timestamp_digits();
        assert!(
            before <= cached && cached <= after,
            "{before:?} {cached:?} {after:?}"
        );
    }

    #[test]
    fn log_id_shape() {
        let id = super::new_log_id();
        assert_eq!(id.len(), 34);
        assert!(id[..14].bytes().all(|b| b.is_ascii_digit()));
        assert!(
            id[14..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
    }
}
