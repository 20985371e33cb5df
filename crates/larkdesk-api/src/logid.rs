//! Request log ids: every response carries `X-Tt-Logid`, and error bodies repeat it in
//! `error.log_id`. The id lives in a task-local for the duration of the request so that errors
//! built anywhere below the middleware can read it.

use axum::http::HeaderValue;
use rand::Rng;

/// A log id: 34 ASCII bytes, kept inline so that giving every request one costs no allocation.
#[derive(Clone, Copy)]
pub struct LogId([u8; 34]);

impl LogId {
    /// Feishu's shape: 14-digit UTC timestamp (`YYYYMMDDhhmmss`) + 20 upper-case hex digits.
    pub fn new() -> Self {
        let now = time::OffsetDateTime::now_utc();
        let mut id = [0u8; 34];
        let mut digits = |at: usize, width: usize, mut value: u32| {
            for slot in id[at..at + width].iter_mut().rev() {
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

impl Default for LogId {
    fn default() -> Self {
        Self::new()
    }
}

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
        "x-tt-logid",
        HeaderValue::from_bytes(&log_id.0).expect("log ids are valid header values"),
    );
    response
}

#[cfg(test)]
mod tests {
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
