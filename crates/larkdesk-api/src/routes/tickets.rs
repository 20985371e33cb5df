//! `/open-apis/helpdesk/v1/tickets…`, `/start_service`, `/ticket_images`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use larkdesk_domain::events::{EventKind, TicketEvent};
use larkdesk_domain::ids::{self, is_valid_numeric_id};
use larkdesk_domain::scopes::{HELPDESK_ACCESS, HELPDESK_ALL, HELPDESK_ALL_READONLY};
use larkdesk_domain::status::{TicketStage, TicketStatus};
use larkdesk_store::{StoreError, TicketFilter};
use larkdesk_wire::ticket::{GetTicketData, ListTicketsData, StartServiceData, Ticket};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{CallerHeaders, HelpdeskCaller};
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, respond_bytes, success, success_body};
use crate::query::QueryParams;
use crate::ratelimit::Endpoint;
use crate::state::{AppState, SharedState};

pub const READ: &[&str] = &[HELPDESK_ALL_READONLY, HELPDESK_ALL];
pub const WRITE: &[&str] = &[HELPDESK_ALL];

type Body = Result<Bytes, BytesRejection>;

/// Parse a ticket id: 1–19 digits fitting an i64.
pub fn parse_ticket_id(raw: &str) -> ApiResult<i64> {
    if !is_valid_numeric_id(raw) {
        return Err(ApiError::bad_request().with_message("ticket_id must be a numeric string"));
    }
    raw.parse().map_err(|_| ApiError::bad_request())
}

pub fn path_ticket_id(path: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let Path(raw) = path.map_err(|_| ApiError::bad_request().with_message("ticket_id is not valid UTF-8"))?;
    parse_ticket_id(&raw)
}

impl AppState {
    /// Append events to a ticket of the caller's helpdesk.
    pub async fn append(
        &self,
        caller: &HelpdeskCaller,
        ticket_id: i64,
        events: Vec<TicketEvent>,
    ) -> ApiResult<Ticket> {
        Ok(self
            .store
            .append_ticket_events(&caller.helpdesk, ticket_id, &events)
            .await?)
    }

    pub fn event(&self, caller: &HelpdeskCaller, kind: EventKind) -> TicketEvent {
        TicketEvent {
            at_ms: self.clock.now_ms(),
            actor: caller.actor(),
            kind,
        }
    }
}

/// `GET /tickets/:ticket_id`
pub async fn get_ticket(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    serve_ticket(&state, &headers, || path_ticket_id(path)).await
}

/// GET ticket once routed, for the router and for [`crate::hot_path`] alike. The id is parsed
/// after authentication, as Feishu does (a bad id with bad credentials is an auth error).
pub(crate) async fn serve_ticket(
    state: &AppState,
    headers: &CallerHeaders,
    ticket_id: impl FnOnce() -> ApiResult<i64>,
) -> ApiResult<Response> {
    let caller = state.helpdesk_caller(headers, Endpoint::GetTicket, READ).await?;
    let id = ticket_id()?;
    let render = async {
        let ticket = state.store.ticket(&caller.helpdesk, id).await?;
        success_body(GetTicketData { ticket })
    };
    let body = state.tickets.ticket(caller.helpdesk.id, id, render).await?;
    Ok(respond_bytes(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct FieldValue {
    id: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTicket {
    status: Option<i64>,
    tag_names: Option<Vec<String>>,
    comment: Option<String>,
    customized_fields: Option<Vec<FieldValue>>,
    ticket_type: Option<i64>,
    solved: Option<i64>,
    channel: Option<i64>,
}

/// `PUT /tickets/:ticket_id`: change ticket data. Each given field becomes one event; all of
/// them are appended together or not at all.
pub async fn update_ticket(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(&headers, Endpoint::UpdateTicket, WRITE)
        .await?;
    let id = path_ticket_id(path)?;
    let req: UpdateTicket = parse_body(body)?;
    let current = state.store.ticket(&caller.helpdesk, id).await?;
    let closed = TicketStatus::from_code(current.status).is_some_and(TicketStatus::is_closed);

    let mut events = Vec::new();
    if let Some(status) = req.status {
        let Some(parsed) = TicketStatus::from_code(status) else {
            return Err(ApiError::bad_request().with_message("status must be 1-5, 50, 51 or 52"));
        };
        if parsed.is_closed() {
            let by_id = caller.user.as_ref().map(|u| u.user.id.clone());
            events.push(state.event(&caller, EventKind::Closed { status, by_id }));
        } else {
            if closed {
                events.push(state.event(&caller, EventKind::Reopened));
            }
            events.push(state.event(&caller, EventKind::StatusChanged { status }));
        }
    }
    if let Some(names) = req.tag_names.filter(|n| !n.is_empty()) {
        if names
            .iter()
            .any(|n| n.trim().is_empty() || n.chars().count() > 100)
        {
            return Err(ApiError::bad_request().with_message("tag names must be 1-100 characters"));
        }
        let tags = state.store.tags_for_names(&caller.helpdesk, &names).await?;
        events.push(state.event(&caller, EventKind::Tagged { tags }));
    }
    if let Some(content) = req.comment {
        let previous = state.store.ticket_events(&caller.helpdesk, id).await?;
        let comment_id = 1 + previous
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Commented { .. }))
            .count() as i64;
        let (user_id, user_name, user_avatar_url) = match &caller.user {
            Some(u) => (
                ids::stable_numeric_id(&u.user.id),
                u.user.name.clone(),
                u.user.avatar_url.clone(),
            ),
            None => (0, String::new(), String::new()),
        };
        events.push(state.event(
            &caller,
            EventKind::Commented {
                comment_id,
                content,
                user_id,
                user_name,
                user_avatar_url,
            },
        ));
    }
    if let Some(values) = req.customized_fields.filter(|v| !v.is_empty()) {
        let mut fields = Vec::with_capacity(values.len());
        for v in values {
            let def = match state.store.field(&caller.helpdesk, &v.id).await {
                Ok(def) => def,
                Err(StoreError::NotFound) => {
                    return Err(
                        ApiError::bad_request().with_message(format!("unknown customized field {}", v.id))
                    );
                }
                Err(e) => return Err(e.into()),
            };
            fields.push(larkdesk_domain::events::FieldValue {
                id: def.ticket_customized_field_id,
                value: v.value,
                key_name: def.key_name,
                display_name: def.display_name,
                position: def.position.parse().unwrap_or_default(),
                required: def.required,
                editable: def.editable,
            });
        }
        events.push(state.event(&caller, EventKind::CustomizedFieldsSet { fields }));
    }
    if let Some(ticket_type) = req.ticket_type {
        events.push(state.event(&caller, EventKind::StageChanged { ticket_type }));
    }
    if let Some(solve) = req.solved {
        events.push(state.event(&caller, EventKind::SolvedSet { solve }));
    }
    if let Some(channel) = req.channel {
        events.push(state.event(&caller, EventKind::ChannelSet { channel }));
    }
    if events.is_empty() {
        return Err(ApiError::bad_request().with_message("the body must change at least one field"));
    }
    state.append(&caller, id, events).await?;
    Ok(success(json!({})))
}

/// `GET /tickets`: filters of §2.5, newest first (`created_at` desc, then `ticket_id` desc).
pub async fn list_tickets(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(&headers, Endpoint::ListTickets, READ)
        .await?;
    let q = QueryParams::parse(raw.as_deref());
    let ticket_id = q.get("ticket_id").map(parse_ticket_id).transpose()?;
    let filter = TicketFilter {
        ticket_id,
        agent_id: q.get("agent_id").map(str::to_owned),
        closed_by_id: q.get("closed_by_id").map(str::to_owned),
        ticket_type: q.int("type")?,
        channel: q.int("channel")?,
        solved: q.int("solved")?,
        score: q.int("score")?,
        status_list: q.ints("status_list")?,
        guest_name: q.get("guest_name").map(str::to_owned),
        guest_id: q.get("guest_id").map(str::to_owned),
        tags: q.all("tags").into_iter().map(str::to_owned).collect(),
        created: q.range("create_time_start", "create_time_end")?,
        updated: q.range("update_time_start", "update_time_end")?,
    };
    let (offset, limit) = q.page(200)?;
    if offset + limit > larkdesk_store::LIST_CAP {
        return Err(ApiError::bad_request()
            .with_message("at most 10000 tickets can be paged through; narrow the filters"));
    }
    let key = (caller.helpdesk.id, filter, offset, limit);
    let render = async {
        let generation = state.tickets.generation();
        let filter = &key.1;
        let known_total = state.tickets.total(caller.helpdesk.id, filter);
        let (total, tickets) = state
            .store
            .list_tickets(&caller.helpdesk, filter, known_total, offset, limit)
            .await?;
        if known_total.is_none() {
            state
                .tickets
                .put_total(caller.helpdesk.id, filter, generation, total);
        }
        success_body(ListTicketsData { total, tickets })
    };
    let body = state.tickets.page(&key, render).await?;
    Ok(respond_bytes(StatusCode::OK, body))
}

#[derive(Debug, Deserialize)]
struct StartService {
    open_id: Option<String>,
    #[serde(default)]
    human_service: bool,
    #[serde(default)]
    appointed_agents: Vec<String>,
    #[serde(default)]
    customized_info: Option<String>,
}

/// `POST /start_service`: open a conversation (ticket + service chat) for a user.
pub async fn start_service(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(&headers, Endpoint::StartService, &[HELPDESK_ACCESS, HELPDESK_ALL])
        .await?;
    let req: StartService = parse_body(body)?;
    let open_id = req
        .open_id
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("open_id is required"))?;
    if !req.appointed_agents.is_empty() && !req.human_service {
        return Err(ApiError::bad_request().with_message("appointed_agents needs human_service=true"));
    }
    if req
        .customized_info
        .as_ref()
        .is_some_and(|c| c.chars().count() > 1024)
    {
        return Err(ApiError::bad_request().with_message("customized_info is limited to 1024 characters"));
    }
    let guest = state
        .store
        .user(caller.app.tenant_id, &open_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::bad_request().with_message("open_id is not a user of this tenant")
            }
            other => other.into(),
        })?;
    for agent in &req.appointed_agents {
        match state.store.user(caller.app.tenant_id, agent).await {
            Ok(u) if u.is_agent => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ApiError::bad_request().with_message(format!("{agent} is not an agent")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let now = state.clock.now_ms();
    let at = |kind| TicketEvent {
        at_ms: now,
        actor: larkdesk_domain::events::Actor::Guest(guest.user.id.clone()),
        kind,
    };
    let mut events = vec![at(EventKind::Created {
        guest_id: guest.user.id.clone(),
        channel: 9,
        human_service: req.human_service,
    })];
    for agent in &req.appointed_agents {
        events.push(TicketEvent {
            at_ms: now,
            actor: larkdesk_domain::events::Actor::System,
            kind: EventKind::AgentEntered {
                agent_id: agent.clone(),
            },
        });
    }
    let chat_id = ids::new_chat_id();
    let ticket_id: i64 = ids::new_numeric_id().parse().map_err(|_| ApiError::internal())?;
    let ticket = state
        .store
        .create_ticket(&caller.helpdesk, ticket_id, &chat_id, &events)
        .await?;
    let human = ticket.ticket_type == TicketStage::Human as i64;
    Ok(success(StartServiceData {
        chat_id,
        ticket_id: human.then_some(ticket.ticket_id),
    }))
}

/// `GET /ticket_images?ticket_id&msg_id&index`: the raw bytes of an image in a message.
pub async fn ticket_image(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(&headers, Endpoint::TicketImages, READ)
        .await?;
    let q = QueryParams::parse(raw.as_deref());
    let ticket_id = parse_ticket_id(
        q.get("ticket_id")
            .ok_or_else(|| ApiError::bad_request().with_message("ticket_id is required"))?,
    )?;
    let msg_id = q
        .get("msg_id")
        .ok_or_else(|| ApiError::bad_request().with_message("msg_id is required"))?;
    let index = q.int("index")?.unwrap_or(0);
    if index < 0 {
        return Err(ApiError::bad_request().with_message("index must not be negative"));
    }
    let (content_type, bytes) = state
        .store
        .image(&caller.helpdesk, ticket_id, msg_id, index)
        .await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{msg_id}_{index}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct Faq {
    id: String,
    #[serde(default)]
    score: f64,
}

#[derive(Debug, Deserialize)]
struct AnswerUserQuery {
    event_id: Option<String>,
    #[serde(default)]
    faqs: Vec<Faq>,
}

/// `POST /tickets/:ticket_id/answer_user_query`: the bot answers a guest message with FAQs,
/// while the ticket is still with the bot.
pub async fn answer_user_query(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(&headers, Endpoint::AnswerUserQuery, WRITE)
        .await?;
    let id = path_ticket_id(path)?;
    let req: AnswerUserQuery = parse_body(body)?;
    let event_id = req
        .event_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("event_id is required"))?;
    let ticket = state.store.ticket(&caller.helpdesk, id).await?;
    let (message_ticket, _message) = state
        .store
        .message_by_event_id(&caller.helpdesk, &event_id)
        .await?;
    if message_ticket != id {
        return Err(ApiError::not_found().with_message("event_id belongs to another ticket"));
    }
    let closed = TicketStatus::from_code(ticket.status).is_some_and(TicketStatus::is_closed);
    if ticket.ticket_type != TicketStage::Bot as i64 || closed {
        return Err(ApiError::bad_request().with_message("the ticket is no longer with the bot"));
    }
    let content = json!({
        "msg_type": "faq",
        "content": req.faqs.iter().map(|f| json!({"id": f.id, "score": f.score})).collect::<Vec<_>>(),
    })
    .to_string();
    let message = EventKind::Message {
        sender: larkdesk_domain::events::Sender::Bot,
        sender_id: caller.app.app_id.clone(),
        message_id: ids::new_message_id(),
        msg_type: "text".into(),
        content,
    };
    state
        .append(
            &caller,
            id,
            vec![TicketEvent {
                actor: larkdesk_domain::events::Actor::Bot,
                ..state.event(&caller, message)
            }],
        )
        .await?;
    Ok(success(json!({})))
}
