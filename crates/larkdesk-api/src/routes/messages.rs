//! Ticket messages (`/tickets/:id/messages`) and helpdesk bot messages (`/message`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use larkdesk_service::tickets::OutsideMessage;
use larkdesk_wire::ticket::{ListMessagesData, MessageIdData};
use serde::Deserialize;
use serde_json::Value;

use super::tickets::{Body, path_ticket_id};
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, success};
use crate::query::QueryParams;
use crate::state::SharedState;

/// Message `content` is a JSON text; the doc's example shows it as a nested object, so accept both.
fn content_text(content: Option<Value>) -> ApiResult<String> {
    match content {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        _ => Err(ApiError::bad_request().with_message("content is required (a JSON string or object)")),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTicketMessage {
    #[schema(value_type = String, required = true, pattern = "^(text|post)$")]
    msg_type: Option<String>,
    /// JSON text (`{"text":"…"}`, a post); the object itself is accepted too.
    #[schema(value_type = String, required = true, min_length = 1)]
    content: Option<Value>,
}

/// `POST /tickets/:ticket_id/messages`. With a tenant token the helpdesk (its bot) speaks; with
/// an agent's user token, the agent (who must be one of the ticket's agents).
pub async fn create_ticket_message(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateTicketMessage)
        .await?;
    let id = path_ticket_id(path)?;
    let req: NewTicketMessage = parse_body(body)?;
    let msg_type = req.msg_type.unwrap_or_default();
    if !matches!(msg_type.as_str(), "text" | "post") {
        return Err(ApiError::bad_request().with_message("msg_type must be text or post"));
    }
    let content = content_text(req.content)?;
    let message_id = state
        .services
        .tickets
        .post_message(&caller, id, &msg_type, content)
        .await?;
    Ok(success(MessageIdData { message_id }))
}

/// `time_start`/`time_end` units are undocumented and the doc's examples are 10-digit seconds:
/// values below 10^11 are taken as seconds, larger ones as milliseconds.
fn to_ms(v: i64) -> i64 {
    if is_seconds(v) { v.saturating_mul(1000) } else { v }
}

/// Whether a time is in seconds (below 10^11 either way; `unsigned_abs`, as `abs` of
/// `i64::MIN` overflows).
fn is_seconds(v: i64) -> bool {
    v.unsigned_abs() < 100_000_000_000
}

/// `GET /tickets/:ticket_id/messages`, oldest first.
pub async fn list_ticket_messages(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListTicketMessages)
        .await?;
    caller.may_handle_tickets()?;
    let id = path_ticket_id(path)?;
    let q = QueryParams::parse(raw.as_deref());
    let (offset, limit) = q.page(200)?;
    // The end bound is inclusive to the end of that second.
    let start = q.int("time_start")?.map(to_ms);
    let end = q
        .int("time_end")?
        .map(|v| if is_seconds(v) { to_ms(v) + 999 } else { v });
    let (total, messages) = state
        .services
        .tickets
        .messages(&caller.helpdesk, id, (start, end), offset, limit)
        .await?;
    Ok(success(ListMessagesData { messages, total }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct BotMessage {
    #[schema(value_type = String, required = true, pattern = "^(text|post|image|interactive)$")]
    msg_type: Option<String>,
    /// JSON text; the object itself is accepted too.
    #[schema(value_type = String, required = true, min_length = 1)]
    content: Option<Value>,
    #[schema(value_type = String, required = true, min_length = 1)]
    receiver_id: Option<String>,
    /// `chat` (the default: the user's service group) or `user`.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^(chat|user)$")]
    receive_type: Option<String>,
}

/// `POST /message`: the helpdesk bot messages a user (their service chat or a p2p chat).
pub async fn bot_message(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::BotMessage).await?;
    let q = QueryParams::parse(raw.as_deref());
    if q.get("user_id_type").is_some_and(|t| t != "open_id") {
        return Err(ApiError::bad_request().with_message("larkdesk supports user_id_type=open_id only"));
    }
    let req: BotMessage = parse_body(body)?;
    let msg_type = req.msg_type.unwrap_or_default();
    if !matches!(msg_type.as_str(), "text" | "post" | "image" | "interactive") {
        return Err(ApiError::bad_request().with_message("msg_type must be text, post, image or interactive"));
    }
    let content = content_text(req.content)?;
    let receive_type = req.receive_type.unwrap_or_else(|| "chat".into());
    if !matches!(receive_type.as_str(), "chat" | "user") {
        return Err(ApiError::bad_request().with_message("receive_type must be chat or user"));
    }
    let receiver = req
        .receiver_id
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("receiver_id is required"))?;
    let message = OutsideMessage {
        receiver_id: receiver,
        receive_type,
        msg_type,
        content,
    };
    let message_id = state.services.tickets.bot_message(&caller, message).await?;
    Ok(success(MessageIdData { message_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_at_the_ends_of_i64_do_not_overflow() {
        assert_eq!(to_ms(i64::MIN), i64::MIN);
        assert_eq!(to_ms(i64::MAX), i64::MAX);
        assert_eq!(to_ms(-5), -5000);
        assert_eq!(to_ms(1_700_000_000), 1_700_000_000_000);
        assert!(!is_seconds(i64::MIN));
    }
}
