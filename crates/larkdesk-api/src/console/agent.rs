//! The agent workspace: the queue (keyset pages), a ticket with its conversation, the agent's
//! actions, and the timeline of its event log with the derived durations drawn on it.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use larkdesk_domain::events::{Actor, EventKind, Sender, TicketEvent};
use larkdesk_domain::ids::TicketId;
use larkdesk_service::tickets::{Action, Closer};
use larkdesk_store::Helpdesk;
use larkdesk_wire::ticket::{Ticket, TicketMessage};

use super::layout::{self, csrf_field, esc};
use super::{
    PageError, PagePath, PageResult, Person, Session, agent_of, checked_form, redirect, session_or_login,
    status_label,
};
use crate::state::SharedState;

/// Tickets per queue page.
const PAGE: i64 = 25;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/console/agent", get(queue))
        .route(
            "/console/agent/helpdesks/{helpdesk_id}/tickets/{ticket_id}",
            get(ticket),
        )
        .route(
            "/console/agent/helpdesks/{helpdesk_id}/tickets/{ticket_id}/{action}",
            post(act),
        )
}

/// The helpdesks of the person's tenant.
pub(super) async fn helpdesks_of(state: &SharedState, person: &Person) -> PageResult<Vec<Helpdesk>> {
    Ok(state
        .services
        .store
        .helpdesks()
        .await?
        .into_iter()
        .filter(|h| h.tenant_id == person.tenant)
        .collect())
}

/// A helpdesk of the person's tenant (another tenant's is "not found").
pub(super) async fn helpdesk_of(
    state: &SharedState,
    person: &Person,
    helpdesk_id: &str,
) -> PageResult<Helpdesk> {
    match state.services.store.helpdesk_by_public_id(helpdesk_id).await {
        Ok(h) if h.tenant_id == person.tenant => Ok(h),
        Ok(_) | Err(larkdesk_store::StoreError::NotFound) => Err(PageError::not_found()),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn parse_ticket_id(raw: &str) -> PageResult<TicketId> {
    TicketId::parse(raw).ok_or_else(PageError::not_found)
}

/// The statuses a queue filter shows (empty: all).
fn statuses(filter: &str) -> PageResult<Vec<i64>> {
    Ok(match filter {
        "open" => vec![1, 2, 3, 4, 5],
        "closed" => vec![50, 51, 52],
        "all" => vec![],
        other => match other.parse::<i64>() {
            Ok(s) if larkdesk_domain::status::TicketStatus::from_code(s).is_some() => vec![s],
            _ => return Err(PageError::bad_request("Unknown status filter.")),
        },
    })
}

fn parse_before(raw: &str) -> PageResult<(i64, TicketId)> {
    raw.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, TicketId::parse(id)?)))
        .ok_or_else(|| PageError::bad_request("That page position is not valid."))
}

fn href_query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

async fn queue(State(state): State<SharedState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> PageResult {
    let session = session_or_login(&state, &headers)?;
    render_queue(&state, &session, raw.as_deref()).await
}

async fn render_queue(state: &SharedState, session: &Session, raw: Option<&str>) -> PageResult {
    let me = agent_of(session)?;
    let q = crate::query::QueryParams::parse(raw);
    let helpdesks = helpdesks_of(state, me).await?;
    let Some(first) = helpdesks.first() else {
        return Ok(layout::ok(
            "Queue",
            session,
            "<section><p>Your tenant has no helpdesk yet.</p></section>",
        ));
    };
    let helpdesk = match q.get("helpdesk").filter(|h| !h.is_empty()) {
        Some(id) => helpdesk_of(state, me, id).await?,
        None => first.clone(),
    };
    let filter = q.get("status").filter(|s| !s.is_empty()).unwrap_or("open");
    let wanted = statuses(filter)?;
    let before = q
        .get("before")
        .filter(|b| !b.is_empty())
        .map(parse_before)
        .transpose()?;
    let tickets = state
        .services
        .tickets
        .page(&helpdesk, &wanted, before, PAGE)
        .await?;

    let mut body = String::new();
    let helpdesk_options: String = helpdesks
        .iter()
        .map(|h| {
            format!(
                r#"<option value="{id}"{sel}>{name}</option>"#,
                id = esc(&h.helpdesk_id),
                name = esc(&h.name),
                sel = if h.id == helpdesk.id { " selected" } else { "" }
            )
        })
        .collect();
    let status_options: String = [
        ("open", "Open (1–5)"),
        ("closed", "Closed"),
        ("all", "All"),
        ("2", "In progress"),
        ("3", "Queued"),
        ("4", "Pending"),
        ("5", "Waiting for user"),
    ]
    .iter()
    .map(|(v, label)| {
        format!(
            r#"<option value="{v}"{sel}>{label}</option>"#,
            sel = if *v == filter { " selected" } else { "" }
        )
    })
    .collect();
    body.push_str(&format!(
        r#"<section><form class="inline" method="get" action="/console/agent">
<label for="q_helpdesk">Helpdesk</label><select id="q_helpdesk" name="helpdesk">{helpdesk_options}</select>
<label for="q_status">Status</label><select id="q_status" name="status">{status_options}</select>
<button type="submit">Show</button></form></section>"#
    ));
    let here = format!(
        "/console/agent?{}",
        href_query(&[
            ("helpdesk", &helpdesk.helpdesk_id),
            ("status", filter),
            (
                "before",
                &before.map_or_else(String::new, |(at, id)| format!("{at}.{id}"))
            ),
        ])
    );
    body.push_str(&format!(
        r##"<section aria-labelledby="queue-h"><h2 id="queue-h">Tickets of {name}, newest first</h2>
<div id="queue" hx-get="{here}" hx-trigger="every 5s" hx-select="#queue" hx-swap="outerHTML">
<table><thead><tr><th scope="col">Ticket</th><th scope="col">Status</th><th scope="col">Stage</th><th scope="col">Guest</th><th scope="col">Agents</th><th scope="col">Created</th><th scope="col">Updated</th></tr></thead><tbody>"##,
        name = esc(&helpdesk.name),
        here = esc(&here),
    ));
    for t in &tickets {
        body.push_str(&format!(
            r#"<tr><td><a href="/console/agent/helpdesks/{hd}/tickets/{id}">{id}</a></td><td>{status}</td><td>{stage}</td><td>{guest}</td><td>{agents}</td><td>{created}</td><td>{updated}</td></tr>"#,
            hd = esc(&helpdesk.helpdesk_id),
            id = esc(&t.ticket_id),
            status = status_label(t.status),
            stage = if t.ticket_type == 2 { "human" } else { "bot" },
            guest = esc(&t.guest.name),
            agents = esc(&t.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")),
            created = layout::time(t.created_at),
            updated = layout::time(t.updated_at),
        ));
    }
    if tickets.is_empty() {
        body.push_str(r#"<tr><td colspan="7" class="muted">No tickets here.</td></tr>"#);
    }
    body.push_str("</tbody></table></div>");
    body.push_str(r#"<nav class="pager" aria-label="Pages">"#);
    if before.is_some() {
        body.push_str(&format!(
            r#"<a href="/console/agent?{}">Newest</a> "#,
            esc(&href_query(&[
                ("helpdesk", &helpdesk.helpdesk_id),
                ("status", filter)
            ]))
        ));
    }
    if let Some(last) = tickets.last().filter(|_| tickets.len() as i64 == PAGE) {
        let position = format!("{}.{}", last.created_at, last.ticket_id);
        body.push_str(&format!(
            r#"<a rel="next" href="/console/agent?{}">Older tickets</a>"#,
            esc(&href_query(&[
                ("helpdesk", &helpdesk.helpdesk_id),
                ("status", filter),
                ("before", &position)
            ]))
        ));
    }
    body.push_str("</nav></section>");
    Ok(layout::ok("Queue", session, &body))
}

async fn ticket(
    State(state): State<SharedState>,
    headers: HeaderMap,
    PagePath((helpdesk_id, ticket_id)): PagePath<(String, String)>,
) -> PageResult {
    let session = session_or_login(&state, &headers)?;
    render_ticket(&state, &session, &helpdesk_id, &ticket_id).await
}

/// A ticket and its messages (up to the newest 500).
pub(super) async fn load(
    state: &SharedState,
    helpdesk: &Helpdesk,
    id: TicketId,
) -> PageResult<(Ticket, Vec<TicketMessage>)> {
    let tickets = &state.services.tickets;
    let ticket = tickets.get(helpdesk, id).await?;
    let (total, _) = tickets.messages(helpdesk, id, (None, None), 0, 1).await?;
    let (_, messages) = tickets
        .messages(helpdesk, id, (None, None), (total - 500).max(0), 500)
        .await?;
    Ok((ticket, messages))
}

async fn render_ticket(
    state: &SharedState,
    session: &Session,
    helpdesk_id: &str,
    raw_id: &str,
) -> PageResult {
    let me = agent_of(session)?;
    let helpdesk = helpdesk_of(state, me, helpdesk_id).await?;
    let id = parse_ticket_id(raw_id)?;
    let (ticket, messages) = load(state, &helpdesk, id).await?;
    let events = state.services.tickets.events(&helpdesk, id).await?;
    let now = state.services.clock.now_ms();
    let here = format!(
        "/console/agent/helpdesks/{}/tickets/{}",
        helpdesk.helpdesk_id, ticket.ticket_id
    );
    let csrf = csrf_field(session);
    let closed = ticket.status >= 50;
    let mine = ticket.agents.iter().any(|a| a.id == me.open_id);

    let mut actions = String::new();
    if !mine && !closed {
        actions.push_str(&format!(
            r#"<form class="inline" method="post" action="{here}/enter">{csrf}<button type="submit">Take this ticket</button></form>"#
        ));
    }
    actions.push_str(&format!(
        r#"<form method="post" action="{here}/reply">{csrf}
<label for="reply">Reply to {guest}</label><input id="reply" name="content" autocomplete="off" size="60" required>
<button type="submit">Send reply</button></form>
<form class="inline" method="post" action="{here}/status">{csrf}
<label for="status">Status</label><select id="status" name="status">
<option value="2">In progress</option><option value="3">Queued</option><option value="4">Pending</option><option value="5">Waiting for user</option></select>
<button type="submit" class="secondary">Set status</button></form>
"#,
        guest = esc(&ticket.guest.name)
    ));
    if closed {
        actions.push_str(&format!(
            r#"<form class="inline" method="post" action="{here}/reopen">{csrf}<button type="submit">Reopen</button></form>"#
        ));
    } else {
        actions.push_str(&format!(
            r#"<form class="inline" method="post" action="{here}/close">{csrf}<button type="submit">Close ticket</button></form>"#
        ));
    }
    let users = state.services.store.users(me.tenant).await?;
    let options: String = users
        .iter()
        .filter(|(u, _)| u.id != ticket.guest.id && !ticket.collaborators.iter().any(|c| c.id == u.id))
        .map(|(u, _)| format!(r#"<option value="{}">{}</option>"#, esc(&u.id), esc(&u.name)))
        .collect();
    if !options.is_empty() {
        actions.push_str(&format!(
            r#"<form class="inline" method="post" action="{here}/collaborator">{csrf}
<label for="collaborator">Add collaborator</label><select id="collaborator" name="user_id">{options}</select>
<button type="submit" class="secondary">Add</button></form>"#
        ));
    }
    let definitions = state.services.fields.definitions(&helpdesk).await?;
    if !definitions.is_empty() {
        actions.push_str(&format!(r#"<form method="post" action="{here}/fields">{csrf}"#));
        for (i, f) in definitions.iter().enumerate() {
            let value = ticket
                .customized_fields
                .iter()
                .find(|v| v.id == f.ticket_customized_field_id)
                .map_or("", |v| v.value.as_str());
            actions.push_str(&format!(
                r#"<label for="field-{i}">{name}</label><input id="field-{i}" name="field:{id}" value="{value}"{ro}>"#,
                name = esc(&f.display_name),
                id = esc(&f.ticket_customized_field_id),
                value = esc(value),
                ro = if f.editable { "" } else { " readonly" }
            ));
        }
        actions.push_str(r#"<button type="submit" class="secondary">Save fields</button></form>"#);
    }

    let body = format!(
        r##"<div id="live" hx-get="{here}" hx-trigger="every 5s" hx-select="#live" hx-swap="outerHTML">
<div class="grid"><div>{conversation}</div><div>{details}</div></div>
{timeline}
</div>
<section aria-labelledby="actions-h"><h2 id="actions-h">Act</h2>{actions}</section>"##,
        here = esc(&here),
        conversation = conversation(&ticket, &messages),
        details = details(&ticket),
        timeline = timeline(&ticket, &events, now),
    );
    Ok(layout::ok(
        &format!("Ticket {}", ticket.ticket_id),
        session,
        &body,
    ))
}

/// The ticket's facts.
pub(super) fn details(t: &Ticket) -> String {
    let names = |people: &[larkdesk_wire::ticket::TicketUser]| {
        if people.is_empty() {
            "—".to_owned()
        } else {
            esc(&people
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "))
        }
    };
    let mut out = format!(
        r#"<section aria-labelledby="details-h"><h2 id="details-h">Details</h2><table>
<tr><th scope="row">Status</th><td id="ticket-status">{status} ({code})</td></tr>
<tr><th scope="row">Stage</th><td>{stage}</td></tr>
<tr><th scope="row">Guest</th><td>{guest}</td></tr>
<tr><th scope="row">Agents</th><td id="ticket-agents">{agents}</td></tr>
<tr><th scope="row">Collaborators</th><td id="ticket-collaborators">{collaborators}</td></tr>
<tr><th scope="row">Score</th><td>{score}</td></tr>
<tr><th scope="row">Created</th><td>{created}</td></tr>
<tr><th scope="row">Closed</th><td>{closed}</td></tr>"#,
        status = status_label(t.status),
        code = t.status,
        stage = if t.ticket_type == 2 { "human" } else { "bot" },
        guest = esc(&t.guest.name),
        agents = names(&t.agents),
        collaborators = names(&t.collaborators),
        score = if t.score > 0 {
            t.score.to_string()
        } else {
            "—".into()
        },
        created = layout::time(t.created_at),
        closed = layout::time(t.closed_at),
    );
    for f in &t.customized_fields {
        out.push_str(&format!(
            r#"<tr><th scope="row">{}</th><td>{}</td></tr>"#,
            esc(&f.display_name),
            esc(&f.value)
        ));
    }
    out.push_str("</table></section>");
    out
}

/// The text a message's stored content shows.
fn message_text(m: &TicketMessage) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(&m.content).ok();
    match parsed.as_ref() {
        Some(v) if v.get("msg_type").and_then(|t| t.as_str()) == Some("image") => "[image]".into(),
        Some(v) => v
            .get("content")
            .or_else(|| v.get("text"))
            .and_then(|c| c.as_str())
            .map_or_else(|| m.content.clone(), str::to_owned),
        None => m.content.clone(),
    }
}

/// The conversation, oldest first.
pub(super) fn conversation(t: &Ticket, messages: &[TicketMessage]) -> String {
    let mut out = String::from(
        r#"<section aria-labelledby="conv-h"><h2 id="conv-h">Conversation</h2><div id="conversation">"#,
    );
    if messages.is_empty() {
        out.push_str(r#"<p class="muted">No messages yet.</p>"#);
    }
    for m in messages {
        let (class, who) = if m.user_id.is_empty() {
            ("bot", "Bot".to_owned())
        } else if m.user_id == t.guest.id {
            ("guest", m.user_name.clone())
        } else {
            ("agent", m.user_name.clone())
        };
        out.push_str(&format!(
            r#"<div class="msg {class}"><div class="meta">{who} · {at}</div><div class="text">{text}</div></div>"#,
            who = esc(&who),
            at = layout::time(m.created_at),
            text = esc(&message_text(m)),
        ));
    }
    out.push_str("</div></section>");
    out
}

fn actor_name(actor: &Actor, names: &HashMap<&str, &str>) -> String {
    let named = |role: &str, id: &str| match names.get(id) {
        Some(name) => format!("{role} {name}"),
        None => format!("{role} {id}"),
    };
    match actor {
        Actor::Guest(id) => named("guest", id),
        Actor::Agent(id) => named("agent", id),
        Actor::Bot => "bot".into(),
        Actor::System => "system".into(),
    }
}

fn what(kind: &EventKind, names: &HashMap<&str, &str>) -> String {
    let name = |id: &str| names.get(id).map_or_else(|| id.to_owned(), |n| (*n).to_owned());
    match kind {
        EventKind::Created { human_service, .. } => {
            if *human_service {
                "created (human service)".into()
            } else {
                "created".into()
            }
        }
        EventKind::Imported { .. } => "imported as a snapshot".into(),
        EventKind::HumanRequested => "asked for a human".into(),
        EventKind::AgentEntered { agent_id } => format!("{} entered", name(agent_id)),
        EventKind::AgentLeft { agent_id } => format!("{} left", name(agent_id)),
        EventKind::Message { sender, .. } => match sender {
            Sender::Bot => "bot message".into(),
            Sender::Guest => "guest message".into(),
            Sender::Agent => "agent message".into(),
        },
        EventKind::StatusChanged { status } => format!("status → {}", status_label(*status)),
        EventKind::Closed { status, .. } => status_label(*status).to_lowercase(),
        EventKind::Reopened => "reopened".into(),
        EventKind::Commented { .. } => "note changed".into(),
        EventKind::Tagged { .. } => "tagged".into(),
        EventKind::CustomizedFieldsSet { .. } => "customized fields set".into(),
        EventKind::StageChanged { ticket_type } => format!("stage → {ticket_type}"),
        EventKind::SolvedSet { solve } => format!("solved → {solve}"),
        EventKind::ChannelSet { channel } => format!("channel → {channel}"),
        EventKind::Rated { score, .. } => format!("rated {score}"),
        EventKind::CollaboratorAdded { user_id } => format!("{} added as collaborator", name(user_id)),
    }
}

/// A bar of the timeline: from, to (ms), its label and colour.
type Bar = (i64, i64, String, &'static str);

/// The timeline: lanes for the bot stage, the wait for the first response, pending time and
/// the resolution, each drawn from the ticket's derived times, the log's events as marks, then
/// the durations as the API returns them and the log itself.
pub(super) fn timeline(t: &Ticket, events: &[TicketEvent], now: i64) -> String {
    const LEFT: f64 = 170.0;
    const WIDTH: f64 = 810.0;
    const LANE: f64 = 28.0;
    let closed = t.status >= 50;
    let start = t.created_at;
    let end = if closed && t.closed_at > start {
        t.closed_at
    } else {
        now.max(start + 1)
    };
    let span = (end - start).max(1) as f64;
    let x = |ms: i64| LEFT + ((ms.clamp(start, end) - start) as f64 / span) * WIDTH;
    let entry = t.agent_entry_time;
    let mut lanes: Vec<(&str, Vec<Bar>)> = Vec::new();
    let bot_end = if entry > 0 { entry } else { end };
    let bot_label = if entry > 0 {
        layout::duration(t.bot_service_duration)
    } else {
        "no agent yet".into()
    };
    lanes.push(("Bot stage", vec![(start, bot_end, bot_label, "#98a2b3")]));
    if entry > 0 {
        let (first_end, label) = if t.agent_first_response_time > 0 {
            (
                t.agent_first_response_time,
                layout::duration(t.agent_first_response_duration),
            )
        } else {
            (end, "waiting".into())
        };
        lanes.push(("First response", vec![(entry, first_end, label, "#1456f0")]));
    } else {
        lanes.push(("First response", vec![]));
    }
    // The spans the lifecycle's clock stood still for (pending; closed before a reopen), as
    // `actual_processing_time` leaves them out.
    let paused: Vec<_> = larkdesk_domain::lifecycle::replay(&t.ticket_id, &t.helpdesk_id, events)
        .map(|replay| replay.paused_spans(end))
        .unwrap_or_default()
        .into_iter()
        .map(|(a, b)| (a, b, layout::duration((b - a) / 1000), "#f79009"))
        .collect();
    lanes.push(("Paused", paused));
    if entry > 0 {
        let label = if closed {
            layout::duration(t.agent_resolution_time)
        } else {
            "open".into()
        };
        lanes.push(("Resolution", vec![(entry, end, label, "#12b76a")]));
    } else {
        lanes.push(("Resolution", vec![]));
    }

    let height = LANE * (lanes.len() as f64 + 2.0) + 10.0;
    let mut svg = format!(
        r#"<svg class="timeline" viewBox="0 0 1000 {height}" role="img" aria-labelledby="tl-title tl-desc"><title id="tl-title">Timeline of ticket {id}</title><desc id="tl-desc">From creation ({from}) to {to}: bot stage, wait for the first response, paused time (pending, closed before a reopen) and resolution, with the log's events as marks.</desc>"#,
        id = esc(&t.ticket_id),
        from = layout::time(start),
        to = if closed { "its close" } else { "now" },
    );
    for (i, (name, bars)) in lanes.iter().enumerate() {
        let y = LANE * i as f64 + 8.0;
        svg.push_str(&format!(
            r##"<text x="8" y="{:.1}">{}</text><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#dee0e3"/>"##,
            y + 15.0,
            name,
            LEFT + WIDTH,
            y + 11.0,
            y + 11.0
        ));
        for (a, b, label, color) in bars {
            let (xa, xb) = (x(*a), x(*b));
            svg.push_str(&format!(
                r#"<rect x="{xa:.1}" y="{y:.1}" width="{:.1}" height="20" rx="3" fill="{color}" opacity="0.85"><title>{name}: {label}</title></rect><text x="{:.1}" y="{:.1}">{}</text>"#,
                (xb - xa).max(2.0),
                (xa + 4.0).min(LEFT + WIDTH - 60.0),
                y + 15.0,
                esc(label)
            ));
        }
    }
    let names: HashMap<&str, &str> = std::iter::once(&t.guest)
        .chain(&t.agents)
        .chain(&t.collaborators)
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let marks_y = LANE * lanes.len() as f64 + 8.0;
    svg.push_str(&format!(r#"<text x="8" y="{:.1}">Events</text>"#, marks_y + 15.0));
    for e in events {
        svg.push_str(&format!(
            r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="#1d2129"><title>{} — {} ({})</title></circle>"##,
            x(e.at_ms),
            marks_y + 11.0,
            layout::time(e.at_ms),
            esc(&what(&e.kind, &names)),
            esc(&actor_name(&e.actor, &names))
        ));
    }
    let axis_y = marks_y + LANE + 8.0;
    svg.push_str(&format!(
        r#"<text x="{LEFT}" y="{axis_y:.1}">{}</text><text x="{:.1}" y="{axis_y:.1}" text-anchor="end">{} (+{})</text></svg>"#,
        layout::time(start),
        LEFT + WIDTH,
        layout::time(end),
        layout::duration((end - start) / 1000)
    ));

    let pending_total = if t.agent_resolution_time > 0 {
        layout::duration(t.agent_resolution_time - t.actual_processing_time)
    } else {
        "—".into()
    };
    let secs = |v: i64, set: bool| if set { layout::duration(v) } else { "—".into() };
    let mut out = format!(
        r#"<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>{svg}
<table class="durations"><caption>Derived durations, as <code>GET /tickets/:id</code> returns them</caption>
<tr><th scope="row">Bot stage (<code>bot_service_duration</code>)</th><td id="d-bot">{bot}</td></tr>
<tr><th scope="row">First response (<code>agent_first_response_duration</code>)</th><td id="d-first-response">{first}</td></tr>
<tr><th scope="row">Paused: pending, closed before a reopen (resolution − actual processing)</th><td id="d-pending">{pending_total}</td></tr>
<tr><th scope="row">Resolution (<code>agent_resolution_time</code>)</th><td id="d-resolution">{resolution}</td></tr>
<tr><th scope="row">Actual processing (<code>actual_processing_time</code>)</th><td id="d-processing">{processing}</td></tr>
<tr><th scope="row">Agent service (<code>agent_service_duration</code>)</th><td id="d-service">{service:.2} min</td></tr>
</table>
<details><summary>Event log ({n} events)</summary><table><thead><tr><th scope="col">Time</th><th scope="col">After creation</th><th scope="col">Who</th><th scope="col">What</th></tr></thead><tbody>"#,
        bot = secs(t.bot_service_duration, entry > 0),
        first = secs(t.agent_first_response_duration, t.agent_first_response_time > 0),
        resolution = secs(t.agent_resolution_time, closed && entry > 0),
        processing = secs(t.actual_processing_time, closed && entry > 0),
        service = t.agent_service_duration,
        n = events.len(),
    );
    for e in events {
        out.push_str(&format!(
            "<tr><td>{}</td><td>+{}</td><td>{}</td><td>{}</td></tr>",
            layout::time(e.at_ms),
            layout::duration((e.at_ms - start) / 1000),
            esc(&actor_name(&e.actor, &names)),
            esc(&what(&e.kind, &names))
        ));
    }
    out.push_str("</tbody></table></details></section>");
    out
}

async fn act(
    State(state): State<SharedState>,
    headers: HeaderMap,
    PagePath((helpdesk_id, ticket_id, action)): PagePath<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    let (session, form) = checked_form(&state, &headers, &body)?;
    let me = agent_of(&session)?.clone();
    let helpdesk = helpdesk_of(&state, &me, &helpdesk_id).await?;
    let id = parse_ticket_id(&ticket_id)?;
    let agent_id = me.open_id.clone();
    let action = match action.as_str() {
        "reply" => Action::AgentText {
            agent_id,
            content: form.required("content", "A reply")?,
        },
        "enter" => Action::AgentEnter(agent_id),
        "leave" => Action::AgentLeave(agent_id),
        "status" => Action::Status {
            status: form
                .required("status", "A status")?
                .parse()
                .map_err(|_| PageError::bad_request("The status must be a number."))?,
            agent_id: Some(agent_id),
        },
        "close" => Action::Close(Closer::Agent(agent_id)),
        "reopen" => Action::Reopen,
        "collaborator" => Action::AddCollaborator(form.required("user_id", "A user")?),
        "fields" => {
            let values: Vec<(String, String)> = form
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("field:")?.to_owned(), v.trim().to_owned())))
                .collect();
            state
                .services
                .tickets
                .set_fields(&helpdesk, id, &agent_id, values)
                .await?;
            return Ok(redirect(&format!(
                "/console/agent/helpdesks/{}/tickets/{id}",
                helpdesk.helpdesk_id
            )));
        }
        _ => return Err(PageError::not_found()),
    };
    state.services.agents.act(&helpdesk, id, action).await?;
    Ok(redirect(&format!(
        "/console/agent/helpdesks/{}/tickets/{id}",
        helpdesk.helpdesk_id
    )))
}
