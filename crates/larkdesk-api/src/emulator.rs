//! Guest- and agent-side actions that have no Feishu endpoint (guests and agents use the Feishu
//! app for them), so a full ticket lifecycle can be driven from outside: part of the admin API,
//! under `/larkdesk/admin/v1/helpdesks/:helpdesk_id/tickets/:ticket_id/…`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use larkdesk_domain::events::{Actor, EventKind, Reason, Sender, TicketEvent};
use larkdesk_domain::ids;
use larkdesk_store::{Helpdesk, StoreError};
use larkdesk_wire::ticket::I18n;
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, success};
use crate::routes::tickets::parse_ticket_id;
use crate::state::SharedState;

type Body = Result<Bytes, BytesRejection>;

#[derive(Debug, Deserialize, Default)]
struct Action {
    /// For agent actions: the agent's open_id.
    agent_id: Option<String>,
    /// Message text (guest_message, agent_message).
    content: Option<String>,
    /// `text` (default) or `image` for guest messages with images.
    msg_type: Option<String>,
    /// Base64 image bytes (PNG/JPEG) for image messages.
    #[serde(default)]
    images: Vec<String>,
    /// close: `bot`, `user` or `agent`.
    by: Option<String>,
    status: Option<i64>,
    score: Option<i64>,
    dissatisfaction_reason: Option<I18n>,
    user_id: Option<String>,
}

fn missing(what: &str) -> ApiError {
    ApiError::bad_request().with_message(format!("{what} is required"))
}

async fn agent(state: &SharedState, helpdesk: &Helpdesk, id: Option<String>) -> ApiResult<String> {
    let id = id.filter(|i| !i.is_empty()).ok_or_else(|| missing("agent_id"))?;
    match state.store.user(helpdesk.tenant_id, &id).await {
        Ok(u) if u.is_agent => Ok(id),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(ApiError::bad_request().with_message(format!("{id} is not an agent")))
        }
        Err(e) => Err(e.into()),
    }
}

fn image_content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xff, 0xd8, ..] => "image/jpeg",
        [b'G', b'I', b'F', ..] => "image/gif",
        _ => "application/octet-stream",
    }
}

/// `POST …/tickets/:ticket_id/{action}`: one lifecycle step as the guest, an agent or the bot.
pub async fn act(
    State(state): State<SharedState>,
    Path((helpdesk_id, ticket_id, action)): Path<(String, String, String)>,
    body: Body,
) -> ApiResult<Response> {
    let helpdesk = state.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let id = parse_ticket_id(&ticket_id)?;
    let req: Action = parse_body(body)?;
    let ticket = state.store.ticket(&helpdesk, id).await?;
    let guest = Actor::Guest(ticket.guest.id.clone());
    let mut images = Vec::new();
    let (actor, kind) = match action.as_str() {
        "guest_message" => {
            let msg_type = req.msg_type.unwrap_or_else(|| "text".into());
            let message_id = ids::new_message_id();
            let content = match msg_type.as_str() {
                "text" => {
                    json!({"msg_type": "text", "content": req.content.ok_or_else(|| missing("content"))?})
                }
                "image" => {
                    for (i, b64) in req.images.iter().enumerate() {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|_| ApiError::bad_request().with_message("images must be base64"))?;
                        images.push((i as i64, bytes));
                    }
                    if images.is_empty() {
                        return Err(missing("images"));
                    }
                    let keys: Vec<String> = (0..images.len())
                        .map(|i| format!("img_{message_id}_{i}"))
                        .collect();
                    json!({"msg_type": "image", "image_keys": keys, "image_key": keys[0]})
                }
                _ => return Err(ApiError::bad_request().with_message("msg_type must be text or image")),
            };
            let sender_id = ticket.guest.id.clone();
            (
                guest,
                EventKind::Message {
                    sender: Sender::Guest,
                    sender_id,
                    message_id,
                    msg_type,
                    content: content.to_string(),
                },
            )
        }
        "bot_message" => {
            let content =
                json!({"msg_type": "text", "content": req.content.ok_or_else(|| missing("content"))?});
            let kind = EventKind::Message {
                sender: Sender::Bot,
                sender_id: String::new(),
                message_id: ids::new_message_id(),
                msg_type: "text".into(),
                content: content.to_string(),
            };
            (Actor::Bot, kind)
        }
        "agent_message" => {
            let agent = agent(&state, &helpdesk, req.agent_id).await?;
            let content =
                json!({"msg_type": "text", "content": req.content.ok_or_else(|| missing("content"))?});
            let kind = EventKind::Message {
                sender: Sender::Agent,
                sender_id: agent.clone(),
                message_id: ids::new_message_id(),
                msg_type: "text".into(),
                content: content.to_string(),
            };
            (Actor::Agent(agent), kind)
        }
        "request_human" => (guest, EventKind::HumanRequested),
        "agent_enter" => {
            let agent = agent(&state, &helpdesk, req.agent_id).await?;
            (Actor::System, EventKind::AgentEntered { agent_id: agent })
        }
        "agent_leave" => {
            let agent = agent(&state, &helpdesk, req.agent_id).await?;
            (Actor::System, EventKind::AgentLeft { agent_id: agent })
        }
        "add_collaborator" => (
            Actor::System,
            EventKind::CollaboratorAdded {
                user_id: req.user_id.ok_or_else(|| missing("user_id"))?,
            },
        ),
        "status" => {
            let agent = agent(&state, &helpdesk, req.agent_id).await.ok();
            let status = req.status.ok_or_else(|| missing("status"))?;
            (
                agent.map_or(Actor::System, Actor::Agent),
                EventKind::StatusChanged { status },
            )
        }
        "close" => match req.by.as_deref() {
            Some("bot") => (
                Actor::Bot,
                EventKind::Closed {
                    status: 50,
                    by_id: None,
                },
            ),
            Some("user") => (
                guest,
                EventKind::Closed {
                    status: 52,
                    by_id: Some(ticket.guest.id.clone()),
                },
            ),
            Some("agent") => {
                let agent = agent(&state, &helpdesk, req.agent_id).await?;
                (
                    Actor::Agent(agent.clone()),
                    EventKind::Closed {
                        status: 51,
                        by_id: Some(agent),
                    },
                )
            }
            _ => return Err(ApiError::bad_request().with_message("by must be bot, user or agent")),
        },
        "reopen" => (guest, EventKind::Reopened),
        "rate" => {
            let score = req.score.ok_or_else(|| missing("score"))?;
            (
                guest,
                EventKind::Rated {
                    score,
                    dissatisfaction_reason: req.dissatisfaction_reason.map(Reason::from),
                },
            )
        }
        _ => return Err(ApiError::not_found().with_message(format!("unknown action {action}"))),
    };
    let event = TicketEvent {
        at_ms: state.clock.now_ms(),
        actor,
        kind,
    };
    let message_id = match &event.kind {
        EventKind::Message { message_id, .. } => Some(message_id.clone()),
        _ => None,
    };
    let ticket = state.store.append_ticket_events(&helpdesk, id, &[event]).await?;
    if let Some(message_id) = &message_id {
        for (index, bytes) in &images {
            state
                .store
                .put_image(message_id, *index, image_content_type(bytes), bytes)
                .await?;
        }
    }
    Ok(success(json!({
        "ticket": ticket,
        "message_id": message_id,
        "event_id": message_id.as_deref().map(ids::message_event_id),
    })))
}

/// `GET …/tickets/:ticket_id/events`: the ticket's event log.
pub async fn events(
    State(state): State<SharedState>,
    Path((helpdesk_id, ticket_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let helpdesk = state.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let events = state
        .store
        .ticket_events(&helpdesk, parse_ticket_id(&ticket_id)?)
        .await?;
    Ok(success(json!({ "events": events })))
}
