//! Request bodies are read in full before routing, within bounds of size, time and memory.
//!
//! A body is read only for a caller who could use it: an endpoint that takes credentials from
//! the headers (every `/open-apis` endpoint but the token endpoints, the admin API) has them
//! checked first, and a request that fails gets its error without its body being kept.
//! Endpoints that authenticate from the body (the token endpoints) and unknown paths get at
//! most [`SMALL_BODY_BYTES`]. Every body must arrive within the read timeout (else HTTP 408),
//! and all bodies being held at once share one memory budget (else HTTP 503, `Retry-After: 1`);
//! a body's share is given back when its request has been answered.
//!
//! An early answer first reads and discards a little of the body (up to [`SMALL_BODY_BYTES`]
//! for a refused caller for up to 1 s, up to [`MAX_DRAIN_BYTES`] for an oversized body for up
//! to 2 s) so that a client still uploading gets to read it, then closes the connection.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, code};

/// Largest request body we accept (2 MiB): Feishu's helpdesk bodies are a few KiB.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Largest body of a token request or of a request to an unknown path: they are ~100 bytes.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;
/// How much of an oversized body we read and discard before giving up on the connection.
pub const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// How long a refused caller's body is drained before the connection is closed.
const REFUSED_DRAIN_TIME: Duration = Duration::from_secs(1);
/// How long an oversized body is drained before the connection is closed.
const OVERSIZED_DRAIN_TIME: Duration = Duration::from_secs(2);

/// Default time a client has to send a whole body, once its headers are in.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default memory all bodies held at once may use.
pub const DEFAULT_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The bounds on request bodies, shared by all connections.
pub struct Bodies {
    read_timeout: Duration,
    budget: Arc<Semaphore>,
}

impl Default for Bodies {
    fn default() -> Self {
        Self::new(DEFAULT_READ_TIMEOUT, DEFAULT_BUDGET_BYTES)
    }
}

/// How much body a request may bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// An authenticated request: up to [`MAX_BODY_BYTES`].
    Full,
    /// No credentials in the headers to check: up to [`SMALL_BODY_BYTES`].
    Small,
}

/// A body's share of the memory budget, held until the request has been answered.
pub struct Held(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Bodies {
    pub fn new(read_timeout: Duration, budget_bytes: usize) -> Self {
        Self {
            read_timeout,
            budget: Arc::new(Semaphore::new(budget_bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// The memory the budget has left (for tests and metrics).
    pub fn available(&self) -> usize {
        self.budget.available_permits()
    }

    /// The request with its whole body in memory (and the body's share of the budget), or the
    /// error response to send instead.
    pub async fn read_whole(
        &self,
        request: Request,
        allowance: Allowance,
    ) -> Result<(Request, Held), Response> {
        // Most requests (an SDK's GET, but the Node SDK's `{}`) have no body: nothing to read,
        // and the request need not be taken apart and rebuilt.
        if axum::body::HttpBody::is_end_stream(request.body()) {
            return Ok((request, Held(None)));
        }
        let cap = match allowance {
            Allowance::Full => MAX_BODY_BYTES,
            Allowance::Small => SMALL_BODY_BYTES,
        };
        let announced = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (parts, mut body) = request.into_parts();
        let too_large = || {
            closing(ApiError::bad_request().with_message(format!("request body is larger than {cap} bytes")))
        };
        if announced.is_some_and(|n| n > cap as u64) {
            drain(body, MAX_DRAIN_BYTES, self.read_timeout.min(OVERSIZED_DRAIN_TIME)).await;
            return Err(too_large());
        }
        let deadline = tokio::time::Instant::now() + self.read_timeout;
        let mut kept = BytesMut::with_capacity(announced.map_or(0, |n| n as usize).min(SMALL_BODY_BYTES));
        let mut held: Option<OwnedSemaphorePermit> = None;
        loop {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(timed_out(self.read_timeout)),
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    return Err(closing(
                        ApiError::bad_request().with_message("request body could not be read"),
                    ));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else { continue };
            if kept.len() + data.len() > cap {
                drop(kept);
                drop(held);
                let left = deadline
                    .saturating_duration_since(tokio::time::Instant::now())
                    .min(OVERSIZED_DRAIN_TIME);
                drain(body, MAX_DRAIN_BYTES, left).await;
                return Err(too_large());
            }
            // `data.len() <= cap <= MAX_BODY_BYTES`, far below u32::MAX.
            let Ok(share) = self.budget.clone().try_acquire_many_owned(data.len() as u32) else {
                return Err(busy());
            };
            match &mut held {
                Some(permit) => permit.merge(share),
                None => held = Some(share),
            }
            kept.extend_from_slice(&data);
        }
        Ok((Request::from_parts(parts, Body::from(kept.freeze())), Held(held)))
    }

    /// The answer to a caller refused before its body was read: a little of the body is read
    /// and discarded so the client can read the answer, then the connection is closed.
    pub async fn refuse(&self, request: Request, error: ApiError) -> Response {
        if !axum::body::HttpBody::is_end_stream(request.body()) {
            let time = self.read_timeout.min(REFUSED_DRAIN_TIME);
            drain(request.into_body(), SMALL_BODY_BYTES, time).await;
        }
        closing(error)
    }
}

/// Read and discard up to `limit` bytes of `body` for at most `time`.
async fn drain(mut body: Body, limit: usize, time: Duration) {
    let _ = tokio::time::timeout(time, async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > limit {
                    break;
                }
            }
        }
    })
    .await;
}

/// `error`, on a connection that is then closed (its body may not have been read to the end).
fn closing(mut error: ApiError) -> Response {
    error.headers.push(("connection", "close".into()));
    error.into_response()
}

fn timed_out(timeout: Duration) -> Response {
    closing(
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            code::BAD_REQUEST,
            "Bad request, please check your request body",
        )
        .with_message(format!(
            "request body was not received within {} ms",
            timeout.as_millis()
        )),
    )
}

fn busy() -> Response {
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code::INTERNAL,
        "Server busy, please retry later",
    )
    .with_message("too many request bodies are being received at once");
    error.headers.push(("retry-after", "1".into()));
    closing(error)
}
