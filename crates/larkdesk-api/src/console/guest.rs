//! The guest view (demo mode): open a conversation, write, ask for a human, close, rate — what a
//! guest does in the Feishu app, so a whole lifecycle can be clicked through.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use larkdesk_service::tickets::{Action, Closer, StartService};
use larkdesk_store::{ListRequest, TicketFilter};

use super::agent::{conversation, details, helpdesk_of, helpdesks_of, load, parse_ticket_id};
use super::layout::{self, csrf_field, esc};
use super::{
    PageError, PagePath, PageResult, Person, Session, Who, checked_form, redirect, session_or_login,
    status_label,
};
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/console/guest", get(home))
        .route("/console/guest/start", post(start))
        .route(
            "/console/guest/helpdesks/{helpdesk_id}/tickets/{ticket_id}",
            get(ticket),
        )
        .route(
            "/console/guest/helpdesks/{helpdesk_id}/tickets/{ticket_id}/{action}",
            post(act),
        )
}

fn guest_of(session: &Session) -> PageResult<&Person> {
    match &session.who {
        Who::Guest(p) => Ok(p),
        _ => Err(PageError::forbidden("This page is for guests (demo mode).")),
    }
}

async fn home(State(state): State<SharedState>, headers: HeaderMap) -> PageResult {
    let session = session_or_login(&state, &headers)?;
    render_home(&state, &session).await
}

async fn render_home(state: &SharedState, session: &Session) -> PageResult {
    let me = guest_of(session)?;
    let helpdesks = helpdesks_of(state, me).await?;
    let csrf = csrf_field(session);
    let options: String = helpdesks
        .iter()
        .map(|h| {
            format!(
                r#"<option value="{}">{}</option>"#,
                esc(&h.helpdesk_id),
                esc(&h.name)
            )
        })
        .collect();
    let mut body = format!(
        r#"<section aria-labelledby="start-h"><h2 id="start-h">Ask for help</h2>
<form method="post" action="/console/guest/start">{csrf}
<label for="start_helpdesk">Helpdesk</label><select id="start_helpdesk" name="helpdesk_id" required>{options}</select>
<button type="submit">Open a conversation</button></form></section>
<section aria-labelledby="mine-h"><h2 id="mine-h">My conversations</h2><table><thead><tr><th scope="col">Ticket</th><th scope="col">Helpdesk</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead><tbody>"#
    );
    let filter = TicketFilter {
        guest_id: Some(me.open_id.clone()),
        ..TicketFilter::default()
    };
    for h in &helpdesks {
        let (_, tickets) = state
            .services
            .tickets
            .list(h, ListRequest::new(&filter, 0, 20))
            .await?;
        for t in tickets {
            body.push_str(&format!(
                r#"<tr><td><a href="/console/guest/helpdesks/{hd}/tickets/{id}">{id}</a></td><td>{name}</td><td>{status}</td><td>{created}</td></tr>"#,
                hd = esc(&h.helpdesk_id),
                id = esc(&t.ticket_id),
                name = esc(&h.name),
                status = status_label(t.status),
                created = layout::time(t.created_at),
            ));
        }
    }
    body.push_str("</tbody></table></section>");
    Ok(layout::ok("Guest view", session, &body))
}

async fn start(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = checked_form(&state, &headers, &body)?;
    let me = guest_of(&session)?;
    let helpdesk = helpdesk_of(&state, me, &form.required("helpdesk_id", "A helpdesk")?).await?;
    let (_, ticket) = state
        .services
        .tickets
        .open_conversation(
            &helpdesk,
            StartService {
                open_id: me.open_id.clone(),
                ..StartService::default()
            },
        )
        .await?;
    Ok(redirect(&format!(
        "/console/guest/helpdesks/{}/tickets/{}",
        helpdesk.helpdesk_id, ticket.ticket_id
    )))
}

async fn ticket(
    State(state): State<SharedState>,
    headers: HeaderMap,
    PagePath((helpdesk_id, ticket_id)): PagePath<(String, String)>,
) -> PageResult {
    let session = session_or_login(&state, &headers)?;
    render_ticket(&state, &session, &helpdesk_id, &ticket_id).await
}

async fn render_ticket(
    state: &SharedState,
    session: &Session,
    helpdesk_id: &str,
    raw_id: &str,
) -> PageResult {
    let me = guest_of(session)?;
    let helpdesk = helpdesk_of(state, me, helpdesk_id).await?;
    let id = parse_ticket_id(raw_id)?;
    let (ticket, messages) = load(state, &helpdesk, id).await?;
    if ticket.guest.id != me.open_id {
        return Err(PageError::not_found());
    }
    let here = format!(
        "/console/guest/helpdesks/{}/tickets/{}",
        helpdesk.helpdesk_id, ticket.ticket_id
    );
    let csrf = csrf_field(session);
    let closed = ticket.status >= 50;
    let mut actions = String::new();
    if closed {
        actions.push_str(&format!(
            r#"<form method="post" action="{here}/rate">{csrf}
<label for="score">How did we do? (1 to 3)</label><input id="score" name="score" type="number" min="1" max="3" required>
<button type="submit">Rate</button></form>"#
        ));
    } else {
        actions.push_str(&format!(
            r#"<form method="post" action="{here}/message">{csrf}
<label for="message">Your message</label><input id="message" name="content" autocomplete="off" size="60" required>
<button type="submit">Send</button></form>"#
        ));
        if ticket.ticket_type != 2 {
            actions.push_str(&format!(
                r#"<form class="inline" method="post" action="{here}/request_human">{csrf}<button type="submit">Talk to a human</button></form>"#
            ));
        }
        actions.push_str(&format!(
            r#"<form class="inline" method="post" action="{here}/close">{csrf}<button type="submit" class="secondary">Close conversation</button></form>"#
        ));
    }
    let body = format!(
        r##"<div id="live" hx-get="{here}" hx-trigger="every 5s" hx-select="#live" hx-swap="outerHTML">
<div class="grid"><div>{conversation}</div><div>{details}</div></div></div>
<section aria-labelledby="actions-h"><h2 id="actions-h">Act</h2>{actions}</section>"##,
        here = esc(&here),
        conversation = conversation(&ticket, &messages),
        details = details(&ticket),
    );
    Ok(layout::ok(
        &format!("Conversation {}", ticket.ticket_id),
        session,
        &body,
    ))
}

async fn act(
    State(state): State<SharedState>,
    headers: HeaderMap,
    PagePath((helpdesk_id, ticket_id, action)): PagePath<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    let (session, form) = checked_form(&state, &headers, &body)?;
    let me = guest_of(&session)?;
    let helpdesk = helpdesk_of(&state, me, &helpdesk_id).await?;
    let id = parse_ticket_id(&ticket_id)?;
    let ticket = state.services.tickets.get(&helpdesk, id).await?;
    if ticket.guest.id != me.open_id {
        return Err(PageError::not_found());
    }
    let action = match action.as_str() {
        "message" => Action::GuestText(form.required("content", "A message")?),
        "request_human" => Action::RequestHuman,
        "close" => Action::Close(Closer::User),
        "rate" => Action::Rate {
            score: form
                .required("score", "A score")?
                .parse()
                .map_err(|_| PageError::bad_request("The score must be a whole number."))?,
            reason: None,
        },
        _ => return Err(PageError::not_found()),
    };
    state.services.agents.act(&helpdesk, id, action).await?;
    Ok(redirect(&format!(
        "/console/guest/helpdesks/{}/tickets/{id}",
        helpdesk.helpdesk_id
    )))
}
