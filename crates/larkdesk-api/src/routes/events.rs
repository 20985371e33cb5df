//! `POST /events/subscribe` and `/events/unsubscribe`: which helpdesk events an app receives.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use larkdesk_domain::scopes::{HELPDESK_ALL, HELPDESK_ALL_READONLY};
use larkdesk_wire::events::EVENT_TYPES;
use serde::Deserialize;
use serde_json::json;

use crate::auth::CallerHeaders;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, success};
use crate::ratelimit::Endpoint;
use crate::state::SharedState;

#[derive(Debug, Deserialize)]
struct EventRef {
    #[serde(rename = "type")]
    kind: Option<String>,
    subtype: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    events: Option<Vec<EventRef>>,
}

/// `{type: "helpdesk.ticket", subtype: "ticket.created_v1"}` names `helpdesk.ticket.created_v1`.
fn event_types(body: Subscription) -> ApiResult<Vec<&'static str>> {
    let events = body
        .events
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("events is required"))?;
    events
        .into_iter()
        .map(|e| {
            let (Some(kind), Some(subtype)) = (e.kind, e.subtype) else {
                return Err(ApiError::bad_request().with_message("every event needs type and subtype"));
            };
            let full = format!("helpdesk.{subtype}");
            let family = subtype.split('.').next().unwrap_or_default();
            EVENT_TYPES
                .iter()
                .copied()
                .find(|t| *t == full && kind == format!("helpdesk.{family}"))
                .ok_or_else(|| {
                    ApiError::bad_request().with_message(format!("unknown event {kind}/{subtype}"))
                })
        })
        .collect()
}

async fn change(
    state: SharedState,
    headers: CallerHeaders,
    body: Result<Bytes, BytesRejection>,
    subscribe: bool,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(
            &headers,
            Endpoint::EventSubscriptions,
            &[HELPDESK_ALL_READONLY, HELPDESK_ALL],
        )
        .await?;
    let types = event_types(parse_body(body)?)?;
    if subscribe {
        state
            .store
            .subscribe_events(caller.app.id, &caller.helpdesk, &types)
            .await?;
    } else {
        state
            .store
            .unsubscribe_events(caller.app.id, &caller.helpdesk, &types)
            .await?;
    }
    Ok(success(json!({})))
}

pub async fn subscribe(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    change(state, headers, body, true).await
}

pub async fn unsubscribe(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    change(state, headers, body, false).await
}
