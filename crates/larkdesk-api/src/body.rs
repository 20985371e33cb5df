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
//! A tenant's API calls also take turns by the size of their bodies: at most
//! [`DEFAULT_TENANT_SHARE_BYTES`] of one tenant's bodies are processed at once, and a request
//! whose body (once read) does not fit waits (it is not refused) until earlier ones of the same
//! tenant have been answered. Small bodies never wait in practice (hundreds fit); what it bounds
//! is one tenant flooding the server with the largest bodies allowed, whose processing would
//! otherwise fill the one writer's queue and the runtime ahead of every other tenant's requests.
//!
//! An early answer first reads and discards a little of the body (up to [`SMALL_BODY_BYTES`]
//! for a refused caller for up to 1 s, up to [`MAX_DRAIN_BYTES`] for an oversized body for up
//! to 2 s) so that a client still uploading gets to read it, then closes the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use larkdesk_domain::ids::TenantRowId;

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
/// Default body bytes one tenant's API calls have in process at once: one of the largest text
/// messages (150 KiB) beside a hundred ordinary calls. Another tenant's updates beside one app
/// posting such messages on 16 connections (`bench/heavy-ticket.sh`): p99 12–16 ms with 200 KiB,
/// 31–32 ms with 512 KiB, 66–88 ms without turns; the flooding app posted as many a second.
pub const DEFAULT_TENANT_SHARE_BYTES: usize = 256 * 1024;
/// Tenants' shares are counted in KiB.
const SHARE_UNIT: usize = 1024;

/// The bounds on request bodies, shared by all connections.
pub struct Bodies {
    read_timeout: Duration,
    budget: Arc<Semaphore>,
    /// In [`SHARE_UNIT`]s; 0 when tenants do not take turns.
    tenant_share: usize,
    tenants: Mutex<HashMap<TenantRowId, Arc<Semaphore>>>,
}

impl Default for Bodies {
    fn default() -> Self {
        Self::new(
            DEFAULT_READ_TIMEOUT,
            DEFAULT_BUDGET_BYTES,
            DEFAULT_TENANT_SHARE_BYTES,
        )
    }
}

/// How much body a request may bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// An authenticated request: up to [`MAX_BODY_BYTES`], within its tenant's share when it
    /// is a tenant's API call (`Some`; the admin API and the console have none).
    Full(Option<TenantRowId>),
    /// No credentials in the headers to check: up to [`SMALL_BODY_BYTES`].
    Small,
}

/// A body's share of the memory budget and of its tenant's, held until the request has been
/// answered.
pub struct Held {
    _memory: Option<OwnedSemaphorePermit>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl Bodies {
    /// `tenant_share_bytes`: 0 for no turns.
    pub fn new(read_timeout: Duration, budget_bytes: usize, tenant_share_bytes: usize) -> Self {
        Self {
            read_timeout,
            budget: Arc::new(Semaphore::new(budget_bytes.min(Semaphore::MAX_PERMITS))),
            tenant_share: tenant_share_bytes
                .div_ceil(SHARE_UNIT)
                .min(Semaphore::MAX_PERMITS)
                .min(u32::MAX as usize),
            tenants: Mutex::default(),
        }
    }

    /// Wait for `tenant`'s turn to process a body of `bytes` (a body larger than the whole share
    /// waits for all of it).
    async fn turn(&self, allowance: Allowance, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let Allowance::Full(Some(tenant)) = allowance else {
            return None;
        };
        if self.tenant_share == 0 {
            return None;
        }
        let share = self
            .tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.tenant_share)))
            .clone();
        let units = bytes.div_ceil(SHARE_UNIT).clamp(1, self.tenant_share);
        // Never closed; `units` is at most the share, itself at most u32::MAX.
        share.acquire_many_owned(units as u32).await.ok()
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
            return Ok((
                request,
                Held {
                    _memory: None,
                    _turn: None,
                },
            ));
        }
        let cap = match allowance {
            Allowance::Full(_) => MAX_BODY_BYTES,
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
        // Waited for once the body is in, not before: a client slow to send it holds up no
        // other request of its tenant.
        let held = Held {
            _memory: held,
            _turn: self.turn(allowance, kept.len()).await,
        };
        Ok((Request::from_parts(parts, Body::from(kept.freeze())), held))
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

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: Allowance = Allowance::Full(Some(TenantRowId(1)));
    const OTHER: Allowance = Allowance::Full(Some(TenantRowId(2)));

    fn with_share(share_bytes: usize) -> Bodies {
        Bodies::new(DEFAULT_READ_TIMEOUT, DEFAULT_BUDGET_BYTES, share_bytes)
    }

    /// The turn if it is free now, without waiting (a semaphore answers on the first poll).
    async fn now(
        bodies: &Bodies,
        allowance: Allowance,
        bytes: usize,
    ) -> Option<Option<OwnedSemaphorePermit>> {
        tokio::time::timeout(Duration::ZERO, bodies.turn(allowance, bytes))
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_tenant_whose_share_is_taken_waits_and_another_does_not() {
        let bodies = with_share(4 * 1024);
        let first = now(&bodies, TENANT, 3 * 1024)
            .await
            .expect("free")
            .expect("a turn");
        assert!(now(&bodies, TENANT, 1024).await.expect("1 KiB is left").is_some());
        assert!(
            now(&bodies, TENANT, 2000).await.is_none(),
            "beyond its share: waits"
        );
        assert!(
            now(&bodies, OTHER, 4 * 1024)
                .await
                .expect("its own share")
                .is_some()
        );
        drop(first);
        assert!(
            now(&bodies, TENANT, 2000).await.is_some(),
            "given back once answered"
        );
    }

    #[tokio::test]
    async fn a_body_larger_than_the_share_waits_for_all_of_it_and_then_runs() {
        let bodies = with_share(4 * 1024);
        let small = now(&bodies, TENANT, 10).await.expect("free");
        assert!(now(&bodies, TENANT, 100 * 1024).await.is_none());
        drop(small);
        let _whole = now(&bodies, TENANT, 100 * 1024).await.expect("the whole share");
        assert!(now(&bodies, TENANT, 1).await.is_none());
    }

    #[tokio::test]
    async fn requests_without_a_tenant_and_a_share_of_zero_never_wait() {
        let bodies = with_share(1024);
        let _all = now(&bodies, TENANT, 1024).await.expect("free");
        for allowance in [Allowance::Full(None), Allowance::Small] {
            assert!(
                now(&bodies, allowance, MAX_BODY_BYTES)
                    .await
                    .expect("no wait")
                    .is_none()
            );
        }
        let unlimited = with_share(0);
        let _big = now(&unlimited, TENANT, MAX_BODY_BYTES).await.expect("no wait");
        assert!(
            now(&unlimited, TENANT, MAX_BODY_BYTES)
                .await
                .expect("no wait")
                .is_none()
        );
    }
}
