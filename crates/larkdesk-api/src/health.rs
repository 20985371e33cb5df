//! `GET /healthz` and `GET /readyz`: outside the Feishu namespace, without authentication, for
//! orchestrators and CI scripts.
//!
//! `/healthz` answers 200 while the process serves HTTP. `/readyz` answers 200 only when the
//! database answers, has every migration this build brings, and (when configured) the rate
//! limiter's Redis answers; otherwise 503, naming what failed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::state::SharedState;

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";

/// How long readiness waits for the database or Redis before calling it unreachable.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<SharedState>) -> Response {
    let mut checks = Map::new();
    let mut ready = true;
    let mut fail = |checks: &mut Map<String, Value>, name: &str, why: String| {
        ready = false;
        checks.insert(name.to_owned(), Value::String(why));
    };
    match tokio::time::timeout(CHECK_TIMEOUT, state.services.store.pending_migrations()).await {
        Ok(Ok(pending)) => {
            checks.insert("database".into(), "ok".into());
            if pending.is_empty() {
                checks.insert("migrations".into(), "ok".into());
            } else {
                fail(
                    &mut checks,
                    "migrations",
                    format!("pending: {}", pending.join(", ")),
                );
            }
        }
        Ok(Err(e)) => fail(&mut checks, "database", format!("unavailable: {e}")),
        Err(_) => fail(&mut checks, "database", "unavailable: timed out".into()),
    }
    if let Some(pinged) = state.auth.limits().ping().await {
        match pinged {
            Ok(()) => {
                checks.insert("redis".into(), "ok".into());
            }
            Err(e) => fail(&mut checks, "redis", format!("unavailable: {e}")),
        }
    }
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    json_response(status, &json!({"status": word, "checks": checks}))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}
