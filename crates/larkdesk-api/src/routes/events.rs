//! `POST /events/subscribe` and `/events/unsubscribe`: which helpdesk events an app receives.

use axum::extract::State;
use axum::response::Response;
use larkdesk_service::subscriptions::Subscriptions;
use serde::Deserialize;
use serde_json::json;

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, success};
use crate::state::SharedState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct EventRef {
    #[serde(rename = "type")]
    kind: Option<String>,
    subtype: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = EventSubscription)]
pub(crate) struct Subscription {
    #[schema(value_type = Vec<EventRef>, required = true, min_items = 1)]
    events: Option<Vec<EventRef>>,
}

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
            Ok(Subscriptions::event_type(&kind, &subtype)?)
        })
        .collect()
}

async fn change(
    state: SharedState,
    headers: CallerHeaders,
    body: Body,
    endpoint: Endpoint,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, endpoint).await?;
    let types = event_types(parse_body(body)?)?;
    let subscribe = endpoint == Endpoint::SubscribeEvents;
    state
        .services
        .subscriptions
        .change(&caller, &types, subscribe)
        .await?;
    Ok(success(json!({})))
}

pub async fn subscribe(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    change(state, headers, body, Endpoint::SubscribeEvents).await
}

pub async fn unsubscribe(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    change(state, headers, body, Endpoint::UnsubscribeEvents).await
}
