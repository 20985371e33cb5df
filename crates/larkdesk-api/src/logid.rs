//! Request log ids: every response carries `X-Tt-Logid`, and error bodies repeat it in
//! `error.log_id`. The id lives in a task-local for the duration of the request so that errors
//! built anywhere below the middleware can read it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;

tokio::task_local! {
    static LOG_ID: String;
}

/// Feishu's shape: 14-digit UTC timestamp + 20 upper-case hex digits.
pub fn new_log_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_else(|_| "00000000000000".into());
    let mut random = [0u8; 10];
    rand::rng().fill(&mut random);
    format!("{stamp}{}", hex::encode_upper(random))
}

/// The current request's log id (a fresh one outside a request).
pub fn current() -> String {
    LOG_ID.try_with(Clone::clone).unwrap_or_else(|_| new_log_id())
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let log_id = new_log_id();
    let mut response = LOG_ID.scope(log_id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&log_id) {
        response.headers_mut().insert("x-tt-logid", value);
    }
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
