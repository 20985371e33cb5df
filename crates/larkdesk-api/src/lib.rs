//! The HTTP layer of larkdesk: Feishu-compatible routes under `/open-apis`, larkdesk's admin API
//! under `/larkdesk/admin/v1`, and the cross-cutting pieces (log ids, errors, auth, rate limits).

pub mod admin;
pub mod auth;
pub mod body;
pub mod clock;
pub mod console;
pub mod error;
pub mod json;
pub mod logid;
pub mod ratelimit;
pub mod routes;
pub mod state;

use std::any::Any;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
pub use crate::state::{AppState, SharedState};

pub fn router(state: SharedState) -> Router {
    let feishu = Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(routes::auth::tenant_access_token),
        )
        .route(
            "/open-apis/auth/v3/app_access_token/internal",
            post(routes::auth::app_access_token),
        )
        .route(
            "/open-apis/helpdesk/v1/tickets/{ticket_id}",
            get(routes::tickets::get_ticket),
        );

    feishu
        .nest(admin::PREFIX, admin::router(state.clone()))
        // Feishu's gateway answers unknown paths and wrong methods alike with a plain-text 404.
        .fallback(page_not_found)
        .method_not_allowed_fallback(page_not_found)
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(body::buffer))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(logid::middleware))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn page_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [("content-type", "text/plain; charset=utf-8")],
        "404 page not found",
    )
        .into_response()
}

/// A panic becomes a Feishu internal error; the payload is logged, never sent.
fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = detail, "request handler panicked");
    ApiError::internal().into_response()
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
