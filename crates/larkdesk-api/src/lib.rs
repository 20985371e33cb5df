//! The HTTP layer of larkdesk: Feishu-compatible routes under `/open-apis`, larkdesk's admin API
//! under `/larkdesk/admin/v1`, the web console under `/console`, and the cross-cutting pieces (log ids, errors, auth, rate limits).

pub mod admin;
pub mod auth;
pub mod body;
pub mod console;
pub mod emulator;
pub mod endpoints;
pub mod error;
pub mod health;
pub mod hot_path;
pub mod journal;
pub mod json;
pub mod logid;
pub mod memo;
pub mod metrics;
pub mod openapi;
pub mod query;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod ticket_cache;
pub mod verified_credentials;

use std::any::Any;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::endpoints::{ENDPOINTS, Endpoint};
use crate::error::ApiError;
pub use crate::state::{AppState, Options, SharedState};

/// The routes: Feishu's (one per row of the endpoint table), larkdesk's admin API, and
/// Feishu's plain 404.
pub fn router(state: SharedState) -> Router {
    // Full paths rather than `Router::nest`: a nested router rebuilds the URI of every request
    // to strip its prefix. Rows that share a path become one route with several methods.
    let feishu = ENDPOINTS.iter().fold(Router::new(), |router, spec| {
        let method = MethodFilter::try_from(spec.method.clone()).expect("the table uses standard methods");
        router.route(spec.path, handler(spec.endpoint, method))
    });
    let feishu = match state.metrics {
        Some(_) => feishu.route(metrics::PATH, axum::routing::get(metrics::metrics)),
        None => feishu,
    };
    feishu
        .route(health::HEALTHZ, axum::routing::get(health::healthz))
        .route(health::READYZ, axum::routing::get(health::readyz))
        .route(openapi::PATH, axum::routing::get(openapi::serve))
        .nest(admin::PREFIX, admin::router(state.clone()))
        .merge(console::router())
        // Feishu's gateway answers unknown paths and wrong methods alike with a plain-text 404.
        .fallback(page_not_found)
        .method_not_allowed_fallback(page_not_found)
        .with_state(state)
}

/// The whole HTTP service: [`router`] inside the layers every request goes through.
///
/// The layers wrap the router once rather than through `Router::layer`, which would wrap each
/// route and clone a boxed service per layer on every request.
pub fn service(
    state: SharedState,
) -> impl tower::Service<
    axum::http::Request<hyper::body::Incoming>,
    Response = Response<
        impl axum::body::HttpBody<Data = bytes::Bytes, Error = impl Into<axum::BoxError>> + Send + 'static,
    >,
    Error = std::convert::Infallible,
    Future = impl Send + 'static,
> + Clone
+ Send
+ 'static {
    // No DefaultBodyLimit layer: `frame_request` has read the body already (refusing more than
    // body::MAX_BODY_BYTES), and axum's extractors' default limit is that same 2 MiB.
    tower::ServiceBuilder::new()
        .map_request(|request: axum::http::Request<hyper::body::Incoming>| request.map(axum::body::Body::new))
        .layer(axum::middleware::from_fn_with_state(state.clone(), frame_request))
        .layer(CatchPanicLayer::custom(panic_response))
        .service(hot_path::HotPath::new(state.clone(), router(state)))
}

/// What every request goes through, in one middleware (each middleware layer costs allocations
/// per request): a log id for the request and its response, the whole body read up front once
/// the headers' credentials allow it (see [`body`]), and, after any method but GET/HEAD (which may have written), the cached ticket
/// bodies rendered before it finished are no longer served (see `ticket_cache`). It also logs
/// the request: 5xx responses at ERROR, everything at DEBUG (tower-http's TraceLayer did this
/// with a span, a response-body wrapper and two clock reads per request, logged or not).
async fn frame_request(
    axum::extract::State(state): axum::extract::State<SharedState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let admin_request = request
        .uri()
        .path()
        .strip_prefix(admin::PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let framed = logid::with_log_id(async move {
        let method = request.method().clone();
        let may_write = !matches!(method, axum::http::Method::GET | axum::http::Method::HEAD);
        let uri = request.uri().clone();
        let started = std::time::Instant::now();
        // Boxed once: this future holds the whole request's state (kilobytes), and the layers
        // around it (task-local scopes, the middleware's own box) would otherwise move it by
        // value, a memcpy of all of it each time.
        let run = Box::pin(async {
            if state.journal.enabled() && !journal::skipped(uri.path()) {
                journaled(&state, request, next, started).await
            } else {
                run_with_body(&state, request, next).await
            }
        });
        let (response, noted) = match &state.metrics {
            Some(_) => {
                let (response, endpoint, code) = metrics::noting(run).await;
                (response, Some((endpoint, code)))
            }
            None => (run.await, None),
        };
        if may_write {
            state.tickets.bump();
        }
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        if let (Some(metrics), Some((endpoint, code))) = (&state.metrics, noted) {
            metrics.observe(endpoint, admin_request, status, code, elapsed);
        }
        if response.status().is_server_error() {
            let latency_ms = elapsed.as_secs_f64() * 1e3;
            tracing::error!(%method, path = uri.path(), status, latency_ms, log_id = %logid::current(), "request failed");
        } else if tracing::enabled!(tracing::Level::DEBUG) {
            let latency_ms = elapsed.as_secs_f64() * 1e3;
            tracing::debug!(%method, path = uri.path(), status, latency_ms, "request");
        }
        response
    });
    error::ADMIN_REQUEST.scope(admin_request, framed).await
}

/// Read the body (within what the headers' credentials allow and the memory budget) and run the
/// request; the body's share of the budget is given back when the response is ready.
async fn run_with_body(
    state: &AppState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match read_body(state, request).await {
        Ok((request, held)) => {
            let response = next.run(request).await;
            drop(held);
            response
        }
        Err(refusal) => refusal,
    }
}

/// The request with its whole body in memory, or the response refusing it.
async fn read_body(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<(axum::extract::Request, Option<body::Held>), Response> {
    if axum::body::HttpBody::is_end_stream(request.body()) {
        return Ok((request, None));
    }
    match body_allowance(state, request.uri().path(), request.headers()).await {
        Err(refused) => Err(state.bodies.refuse(request, refused).await),
        Ok(allowance) => state
            .bodies
            .read_whole(request, allowance)
            .await
            .map(|(request, held)| (request, Some(held))),
    }
}

/// Run a request and file it in the journal (only when the journal is on: this copies the
/// headers and reads the response body).
async fn journaled(
    state: &SharedState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
    started: std::time::Instant,
) -> Response {
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(journal::redact_query);
    let headers = journal::redact_headers(request.headers());
    let token_app = state.auth.app_id_of(request.headers()).await;
    let (request, raw_body, held) = match read_body(state, request).await {
        Ok((request, held)) => {
            let (parts, body) = request.into_parts();
            // The body is in memory already: this only gathers it.
            let bytes = axum::body::to_bytes(body, body::MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            (
                Ok(axum::extract::Request::from_parts(
                    parts,
                    axum::body::Body::from(bytes.clone()),
                )),
                bytes,
                held,
            )
        }
        Err(refusal) => (Err(refusal), bytes::Bytes::new(), None),
    };
    let response = match request {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    };
    drop(held);
    let (parts, body) = response.into_parts();
    let out = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let code = journal::response_code(&out);
    let app_id = token_app.or_else(|| {
        (code == Some(0))
            .then(|| journal::token_request_app_id(&path, &raw_body))
            .flatten()
    });
    let (body_text, body_truncated) = journal::redact_body(&raw_body);
    state.journal.record(journal::Entry {
        seq: 0,
        log_id: logid::current(),
        time_ms,
        app_id,
        method,
        path,
        query,
        headers,
        body: body_text,
        body_truncated,
        status: parts.status.as_u16(),
        code,
        latency_ms: started.elapsed().as_secs_f64() * 1e3,
    });
    Response::from_parts(parts, axum::body::Body::from(out))
}

/// How much body a request may bring, decided from its headers before any of the body is read:
/// endpoints that authenticate from the headers check the credentials first (the handler checks
/// them again, from its caches); the token endpoints and unknown paths get a small allowance.
async fn body_allowance(
    state: &AppState,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> Result<body::Allowance, ApiError> {
    if path.starts_with("/open-apis/auth/") {
        return Ok(body::Allowance::Small);
    }
    if path.starts_with("/open-apis/") {
        let (app, _) = state
            .auth
            .token_caller(&auth::CallerHeaders::from_headers(headers))
            .await?;
        return Ok(body::Allowance::Full(Some(app.tenant_id)));
    }
    if path
        .strip_prefix(admin::PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        admin::check_admin(state, headers).await?;
        return Ok(body::Allowance::Full(None));
    }
    // A console form of a signed-in browser (a long reply); sign-in forms stay small.
    if path.starts_with("/console/") && console::has_session(state, headers) {
        return Ok(body::Allowance::Full(None));
    }
    Ok(body::Allowance::Small)
}

/// The handler of each endpoint.
fn handler(endpoint: Endpoint, method: MethodFilter) -> MethodRouter<SharedState> {
    use routes::{agents, auth, categories, events, faqs, fields, messages, notifications, tickets};
    match endpoint {
        Endpoint::TenantAccessToken => on(method, auth::tenant_access_token),
        Endpoint::AppAccessToken => on(method, auth::app_access_token),
        Endpoint::StartService => on(method, tickets::start_service),
        Endpoint::GetTicket => on(method, tickets::get_ticket),
        Endpoint::UpdateTicket => on(method, tickets::update_ticket),
        Endpoint::ListTickets => on(method, tickets::list_tickets),
        Endpoint::AnswerUserQuery => on(method, tickets::answer_user_query),
        Endpoint::CreateTicketMessage => on(method, messages::create_ticket_message),
        Endpoint::ListTicketMessages => on(method, messages::list_ticket_messages),
        Endpoint::TicketImages => on(method, tickets::ticket_image),
        Endpoint::BotMessage => on(method, messages::bot_message),
        Endpoint::CustomizedFields => on(method, fields::customized_fields),
        Endpoint::ListTicketCustomizedFields => on(method, fields::list_fields),
        Endpoint::CreateTicketCustomizedField => on(method, fields::create_field),
        Endpoint::GetTicketCustomizedField => on(method, fields::get_field),
        Endpoint::UpdateTicketCustomizedField => on(method, fields::update_field),
        Endpoint::DeleteTicketCustomizedField => on(method, fields::delete_field),
        Endpoint::SubscribeEvents => on(method, events::subscribe),
        Endpoint::UnsubscribeEvents => on(method, events::unsubscribe),
        Endpoint::PatchAgent => on(method, agents::patch_agent),
        Endpoint::AgentEmails => on(method, agents::agent_emails),
        Endpoint::GetAgentSchedules => on(method, agents::get_schedules),
        Endpoint::PatchAgentSchedules => on(method, agents::patch_schedules),
        Endpoint::DeleteAgentSchedules => on(method, agents::delete_schedules),
        Endpoint::CreateAgentSchedules => on(method, agents::create_schedules),
        Endpoint::ListAgentSchedules => on(method, agents::list_schedules),
        Endpoint::CreateAgentSkill => on(method, agents::create_skill),
        Endpoint::ListAgentSkills => on(method, agents::list_skills),
        Endpoint::GetAgentSkill => on(method, agents::get_skill),
        Endpoint::PatchAgentSkill => on(method, agents::patch_skill),
        Endpoint::DeleteAgentSkill => on(method, agents::delete_skill),
        Endpoint::ListAgentSkillRules => on(method, agents::list_skill_rules),
        Endpoint::CreateCategory => on(method, categories::create_category),
        Endpoint::ListCategories => on(method, categories::list_categories),
        Endpoint::GetCategory => on(method, categories::get_category),
        Endpoint::PatchCategory => on(method, categories::patch_category),
        Endpoint::DeleteCategory => on(method, categories::delete_category),
        Endpoint::CreateFaq => on(method, faqs::create_faq),
        Endpoint::ListFaqs => on(method, faqs::list_faqs),
        Endpoint::GetFaq => on(method, faqs::get_faq),
        Endpoint::UpdateFaq => on(method, faqs::update_faq),
        Endpoint::DeleteFaq => on(method, faqs::delete_faq),
        Endpoint::FaqImage => on(method, faqs::faq_image),
        Endpoint::SearchFaqs => on(method, faqs::search_faqs),
        Endpoint::CreateNotification => on(method, notifications::create),
        Endpoint::GetNotification => on(method, notifications::get),
        Endpoint::UpdateNotification => on(method, notifications::update),
        Endpoint::PreviewNotification => on(method, notifications::preview),
        Endpoint::SubmitApproveNotification => on(method, notifications::submit_approve),
        Endpoint::CancelApproveNotification => on(method, notifications::cancel_approve),
        Endpoint::ExecuteSendNotification => on(method, notifications::execute_send),
        Endpoint::CancelSendNotification => on(method, notifications::cancel_send),
    }
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

/// Serve HTTP/1.1 until `shutdown` resolves, then let open requests finish (up to `grace`).
///
/// hyper is driven directly rather than through `axum::serve` for two wire details: header
/// names go out title-cased (`X-Tt-Logid`, as Feishu sends them; the Python SDK looks them up
/// case-sensitively) and a client gets 30 s to send its request headers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};

    let app = service(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .title_case_headers(true)
            .timer(TokioTimer::new())
            .header_read_timeout(std::time::Duration::from_secs(30))
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "connections still open after the shutdown grace; closing them");
        }
    }
    Ok(())
}
