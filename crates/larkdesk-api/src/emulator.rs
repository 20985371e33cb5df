//! Guest- and agent-side actions that have no Feishu endpoint (guests and agents use the Feishu
//! app for them), so a full ticket lifecycle can be driven from outside: part of the admin API,
//! under `/larkdesk/admin/v1/helpdesks/:helpdesk_id/tickets/:ticket_id/…`. The request becomes a
//! [`larkdesk_service::tickets::Action`]; the ticket service does the rest.

use axum::extract::State;
use axum::response::Response;
use larkdesk_domain::events::Reason;
use larkdesk_domain::ids;
use larkdesk_service::tickets::{Action, Closer, Tickets};
use larkdesk_wire::ticket::I18n;
use serde::Deserialize;
use serde_json::json;

use crate::admin::AdminPath;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::routes::tickets::{Body, parse_ticket_id};
use crate::state::SharedState;

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub(crate) struct ActionBody {
    /// For agent actions: the agent's open_id.
    agent_id: Option<String>,
    /// Message text (guest_message, bot_message, agent_message).
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

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub(crate) struct BotAnswer {
    /// The guest message's `ticket_message.created` event id.
    event_id: Option<String>,
}

fn agent_id(v: Option<String>) -> ApiResult<String> {
    required(v.filter(|a| !a.is_empty()), "agent_id")
}

/// The action named in the path, from its body.
fn action(name: &str, req: ActionBody) -> ApiResult<Action> {
    Ok(match name {
        "guest_message" => match req.msg_type.as_deref().unwrap_or("text") {
            "text" => Action::GuestText(required(req.content, "content")?),
            "image" => Action::GuestImages(Tickets::decode_images(&req.images)?),
            _ => return Err(ApiError::bad_request().with_message("msg_type must be text or image")),
        },
        "bot_message" => Action::BotText(required(req.content, "content")?),
        "agent_message" => Action::AgentText {
            agent_id: agent_id(req.agent_id)?,
            content: required(req.content, "content")?,
        },
        "request_human" => Action::RequestHuman,
        "agent_enter" => Action::AgentEnter(agent_id(req.agent_id)?),
        "agent_leave" => Action::AgentLeave(agent_id(req.agent_id)?),
        "add_collaborator" => Action::AddCollaborator(required(req.user_id, "user_id")?),
        "status" => Action::Status {
            status: required(req.status, "status")?,
            agent_id: req.agent_id.filter(|a| !a.is_empty()),
        },
        "close" => Action::Close(match req.by.as_deref() {
            Some("bot") => Closer::Bot,
            Some("user") => Closer::User,
            Some("agent") => Closer::Agent(agent_id(req.agent_id)?),
            _ => return Err(ApiError::bad_request().with_message("by must be bot, user or agent")),
        }),
        "reopen" => Action::Reopen,
        "rate" => Action::Rate {
            score: required(req.score, "score")?,
            reason: req.dissatisfaction_reason.map(Reason::from),
        },
        _ => return Err(ApiError::not_found().with_message(format!("unknown action {name}"))),
    })
}

/// `POST …/tickets/:ticket_id/{action}`: one lifecycle step as the guest, an agent or the bot.
pub async fn act(
    State(state): State<SharedState>,
    AdminPath((helpdesk_id, ticket_id, name)): AdminPath<(String, String, String)>,
    body: Body,
) -> ApiResult<Response> {
    let helpdesk = state.services.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let id = parse_ticket_id(&ticket_id)?;
    if name == "bot_answer" {
        // The helpdesk bot answers a guest message from the FAQ search.
        let req: BotAnswer = parse_body(body)?;
        let event_id = required(req.event_id.filter(|e| !e.is_empty()), "event_id")?;
        let faqs = state
            .services
            .faqs
            .bot_answer(&state.services.tickets, &helpdesk, id, &event_id)
            .await?;
        return Ok(success(json!({ "faq_ids": faqs })));
    }
    let action = action(&name, parse_body(body)?)?;
    let acted = state.services.agents.act(&helpdesk, id, action).await?;
    Ok(success(json!({
        "ticket": acted.ticket,
        "message_id": acted.message_id,
        "event_id": acted.message_id.as_deref().map(ids::message_event_id),
    })))
}

/// `GET …/tickets/:ticket_id/events`: the ticket's event log.
pub async fn events(
    State(state): State<SharedState>,
    AdminPath((helpdesk_id, ticket_id)): AdminPath<(String, String)>,
) -> ApiResult<Response> {
    let helpdesk = state.services.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let events = state
        .services
        .tickets
        .events(&helpdesk, parse_ticket_id(&ticket_id)?)
        .await?;
    Ok(success(json!({ "events": events })))
}
