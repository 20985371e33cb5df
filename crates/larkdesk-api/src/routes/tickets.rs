//! `/open-apis/helpdesk/v1/tickets…`, `/start_service`, `/ticket_images`: extract, call the
//! ticket service, render.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use larkdesk_domain::ids::TicketId;
use larkdesk_domain::status::TicketStage;
use larkdesk_service::tickets::{Rendered, StartService, TicketPage, TicketUpdate};
use larkdesk_store::{ListRequest, TicketFilter};
use larkdesk_wire::ticket::{GetTicketData, ListTicketsData, StartServiceData};
use serde::Deserialize;
use serde_json::json;

use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, respond_bytes, success, success_body};
use crate::query::QueryParams;
use crate::state::{AppState, SharedState};

pub(crate) type Body = Result<Bytes, BytesRejection>;

/// Parse a ticket id: 1–19 digits fitting an i64.
pub fn parse_ticket_id(raw: &str) -> ApiResult<TicketId> {
    TicketId::parse(raw)
        .ok_or_else(|| ApiError::bad_request().with_message("ticket_id must be a numeric string"))
}

pub fn path_ticket_id(path: Result<Path<String>, PathRejection>) -> ApiResult<TicketId> {
    let Path(raw) = path.map_err(|_| ApiError::bad_request().with_message("ticket_id is not valid UTF-8"))?;
    parse_ticket_id(&raw)
}

/// A rendered ticket body as the caller's app's wire profile shows it.
fn profiled(caller: &larkdesk_service::Caller, body: bytes::Bytes) -> bytes::Bytes {
    match caller.app.wire_profile {
        larkdesk_store::WireProfile::Docs => body,
        larkdesk_store::WireProfile::Production => crate::json::comments_as_list(body),
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
    ticket_id: impl FnOnce() -> ApiResult<TicketId>,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(headers, Endpoint::GetTicket).await?;
    caller.may_handle_tickets()?;
    let id = ticket_id()?;
    let render = async {
        match state.services.tickets.get_rendered(&caller.helpdesk, id).await? {
            Rendered::Json(json) => stored_render(&json, id),
            Rendered::Ticket(ticket) => success_body(GetTicketData { ticket: *ticket }),
        }
    };
    let body = state
        .tickets
        .ticket(caller.helpdesk.id.0, id.get(), render)
        .await?;
    Ok(respond_bytes(StatusCode::OK, profiled(&caller, body)))
}

/// The GET body around a ticket's stored render, which is passed through without parsing it
/// again: larkdesk serialized it in the transaction that wrote the ticket, and parsing it would
/// be a fifth of an uncached GET's cost. Only its outline is checked, against a damaged or
/// truncated row.
fn stored_render(json: &str, id: TicketId) -> ApiResult<Bytes> {
    if !looks_like_an_object(json) {
        tracing::error!(
            ticket_id = id.get(),
            "a stored ticket render is not a JSON object"
        );
        return Err(ApiError::internal());
    }
    Ok(crate::json::success_around(
        r#"{"code":0,"msg":"success","data":{"ticket":"#,
        json,
        "}}",
    ))
}

/// The `GET /tickets` body [`ListTicketsData`] serializes to, made of the tickets' stored
/// renders, passed through and checked as [`stored_render`] does.
fn rendered_list(total: i64, renders: &[String]) -> ApiResult<Bytes> {
    if !renders.iter().all(|r| looks_like_an_object(r)) {
        tracing::error!("a stored ticket render is not a JSON object");
        return Err(ApiError::internal());
    }
    let prefix = format!(r#"{{"code":0,"msg":"success","data":{{"total":{total},"tickets":["#);
    Ok(crate::json::success_around(&prefix, &renders.join(","), "]}}"))
}

/// The outline of a stored render: one JSON object.
fn looks_like_an_object(json: &str) -> bool {
    json.starts_with('{') && json.ends_with('}')
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FieldValue {
    id: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTicket {
    status: Option<i64>,
    tag_names: Option<Vec<String>>,
    comment: Option<String>,
    customized_fields: Option<Vec<FieldValue>>,
    ticket_type: Option<i64>,
    solved: Option<i64>,
    channel: Option<i64>,
}

/// `PUT /tickets/:ticket_id`: change ticket data.
pub async fn update_ticket(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::UpdateTicket)
        .await?;
    let id = path_ticket_id(path)?;
    let req: UpdateTicket = parse_body(body)?;
    let update = TicketUpdate {
        status: req.status,
        tag_names: req.tag_names,
        comment: req.comment,
        customized_fields: req
            .customized_fields
            .map(|values| values.into_iter().map(|v| (v.id, v.value)).collect()),
        ticket_type: req.ticket_type,
        solved: req.solved,
        channel: req.channel,
    };
    let ticket = state.services.tickets.update(&caller, id, update).await?;
    // A status change back to 3 (queued) with no agent puts the ticket in the routing queue.
    state.services.agents.queue(&caller.helpdesk, &ticket).await?;
    Ok(success(json!({})))
}

/// `GET /tickets`: Feishu's list filters (`docs/feishu-wire.md#the-ticket-object`), newest first (`created_at` desc, then `ticket_id` desc).
pub async fn list_tickets(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListTickets)
        .await?;
    caller.may_handle_tickets()?;
    let q = QueryParams::parse(raw.as_deref());
    let filter = TicketFilter {
        ticket_id: q.get("ticket_id").map(parse_ticket_id).transpose()?,
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
    let helpdesk = caller.helpdesk.id.0;
    let key = (helpdesk, filter, offset, limit);
    let render = async {
        let tickets = &state.services.tickets;
        let filter = &key.1;
        let version = || state.tickets.total_version(filter, tickets.ticket_set_version());
        let counted_at = version();
        let known_total = state.tickets.total(helpdesk, filter, counted_at);
        let (total, page) = tickets
            .list_page(
                &caller.helpdesk,
                ListRequest::new(filter, offset, limit).known_total(known_total),
            )
            .await?;
        if known_total.is_none() {
            state
                .tickets
                .put_total(helpdesk, filter, counted_at, version(), total);
        }
        match page {
            TicketPage::Rendered(renders) => rendered_list(total, &renders),
            TicketPage::Tickets(tickets) => success_body(ListTicketsData { total, tickets }),
        }
    };
    let body = state.tickets.page(&key, render).await?;
    Ok(respond_bytes(StatusCode::OK, profiled(&caller, body)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct StartServiceBody {
    #[schema(value_type = String, required = true, min_length = 1)]
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
        .auth
        .helpdesk_caller(&headers, Endpoint::StartService)
        .await?;
    let req: StartServiceBody = parse_body(body)?;
    let open_id = req
        .open_id
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("open_id is required"))?;
    // Validated, not stored.
    if req.customized_info.is_some_and(|c| c.chars().count() > 1024) {
        return Err(ApiError::bad_request().with_message("customized_info is limited to 1024 characters"));
    }
    let start = StartService {
        open_id,
        human_service: req.human_service,
        appointed_agents: req.appointed_agents,
    };
    let (chat_id, ticket) = state.services.tickets.start_service(&caller, start).await?;
    // A ticket opened in the human stage without appointed agents waits for routing.
    state.services.agents.queue(&caller.helpdesk, &ticket).await?;
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
        .auth
        .helpdesk_caller(&headers, Endpoint::TicketImages)
        .await?;
    caller.may_handle_tickets()?;
    let q = QueryParams::parse(raw.as_deref());
    let ticket_id = parse_ticket_id(
        q.get("ticket_id")
            .ok_or_else(|| ApiError::bad_request().with_message("ticket_id is required"))?,
    )?;
    let msg_id = q
        .get("msg_id")
        .ok_or_else(|| ApiError::bad_request().with_message("msg_id is required"))?;
    let index = q.int("index")?.unwrap_or(0);
    let (content_type, bytes) = state
        .services
        .tickets
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AnswerUserQueryFaq)]
pub(crate) struct Faq {
    id: String,
    #[serde(default)]
    score: f64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct AnswerUserQuery {
    #[schema(value_type = String, required = true, min_length = 1)]
    event_id: Option<String>,
    #[serde(default)]
    faqs: Vec<Faq>,
}

/// `POST /tickets/:ticket_id/answer_user_query`: the bot answers a guest message with FAQs.
pub async fn answer_user_query(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::AnswerUserQuery)
        .await?;
    let id = path_ticket_id(path)?;
    let req: AnswerUserQuery = parse_body(body)?;
    let event_id = req
        .event_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request().with_message("event_id is required"))?;
    let faqs: Vec<(String, f64)> = req.faqs.into_iter().map(|f| (f.id, f.score)).collect();
    state
        .services
        .tickets
        .answer_user_query(&caller, id, &event_id, &faqs)
        .await?;
    Ok(success(json!({})))
}

#[cfg(test)]
mod tests {
    use larkdesk_wire::ticket::Ticket;

    use super::*;

    #[test]
    fn a_stored_render_is_sent_exactly_as_the_ticket_would_be_rendered() {
        let ticket: Ticket = serde_json::from_value(json!({
            "ticket_id": "7", "helpdesk_id": "1",
            "guest": {"id": "ou_1", "name": "Li \"Lei\" 李"},
            "ticket_type": 2, "status": 50, "created_at": 1_700_000_000_000_i64,
            "agent_service_duration": 1.5,
            "comments": {"content": "x", "created_at": 1, "id": 2, "user_avatar_url": "", "user_name": "", "user_id": 3},
        }))
        .unwrap();
        let json = serde_json::to_string(&ticket).unwrap();
        let id = TicketId::new(7);
        assert_eq!(
            stored_render(&json, id).unwrap(),
            success_body(GetTicketData { ticket }).unwrap()
        );
        for damaged in ["", "{", "not json", &json[..json.len() - 1]] {
            assert!(stored_render(damaged, id).is_err(), "{damaged:?}");
        }
    }
}
