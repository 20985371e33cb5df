//! The admin's pages: tenants, apps (scopes, rotate secret), helpdesks (rotate token), users and
//! agents, event settings and deliveries, the request journal.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use larkdesk_service::console as accounts;
use larkdesk_store::AppType;
use larkdesk_wire::ticket::TicketUser;

use super::layout::{self, csrf_field, esc};
use super::{Form, PageError, PageResult, Session, Who, checked_form, redirect, session_or_login};
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/console/admin", get(overview))
        .route("/console/admin/tenants", post(create_tenant))
        .route("/console/admin/apps", post(create_app))
        .route("/console/admin/apps/rotate_secret", post(rotate_secret))
        .route("/console/admin/apps/scopes", post(set_scopes))
        .route("/console/admin/helpdesks", post(create_helpdesk))
        .route("/console/admin/helpdesks/rotate_token", post(rotate_token))
        .route("/console/admin/users", get(users).post(upsert_user))
        .route("/console/admin/events", get(events).post(set_events))
        .route("/console/admin/events/retry", post(retry_delivery))
        .route("/console/admin/journal", get(journal))
}

/// A GET page's admin session (else a redirect to sign in, or 403 for agents and guests).
fn admin_page(state: &SharedState, headers: &HeaderMap) -> PageResult<Session> {
    let session = session_or_login(state, headers)?;
    if session.who != Who::Admin {
        return Err(PageError::forbidden("This page is for the administrator."));
    }
    Ok(session)
}

/// A POST's admin session and form (CSRF checked).
fn admin_form(state: &SharedState, headers: &HeaderMap, body: &[u8]) -> PageResult<(Session, Form)> {
    let (session, form) = checked_form(state, headers, body)?;
    if session.who != Who::Admin {
        return Err(PageError::forbidden("Only the administrator may do this."));
    }
    Ok((session, form))
}

fn tenant_options(tenants: &[accounts::TenantInfo]) -> String {
    tenants
        .iter()
        .map(|t| {
            format!(
                r#"<option value="{}">{} ({})</option>"#,
                esc(&t.tenant_key),
                esc(&t.name),
                esc(&t.tenant_key)
            )
        })
        .collect()
}

async fn overview(State(state): State<SharedState>, headers: HeaderMap) -> PageResult {
    let session = admin_page(&state, &headers)?;
    render_overview(&state, &session, "").await
}

/// The overview, with `notice` (HTML) on top: a secret shown once, for example.
async fn render_overview(state: &SharedState, session: &Session, notice: &str) -> PageResult {
    let store = &*state.services.store;
    let tenants = accounts::list_tenants(store).await?;
    let apps = accounts::list_apps(store).await?;
    let helpdesks = accounts::list_helpdesks(store).await?;
    let csrf = csrf_field(session);
    let mut body = String::from(notice);

    body.push_str(r#"<section aria-labelledby="tenants-h"><h2 id="tenants-h">Tenants</h2><table><thead><tr><th scope="col">Tenant key</th><th scope="col">Name</th></tr></thead><tbody>"#);
    for t in &tenants {
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&t.tenant_key),
            esc(&t.name)
        ));
    }
    body.push_str(&format!(
        r#"</tbody></table>
<form method="post" action="/console/admin/tenants">{csrf}
<label for="tenant_name">New tenant's name</label><input id="tenant_name" name="name" required>
<label for="tenant_key">Tenant key (optional: letters and digits)</label><input id="tenant_key" name="tenant_key">
<button type="submit">Create tenant</button></form></section>"#
    ));

    body.push_str(r#"<section aria-labelledby="apps-h"><h2 id="apps-h">Apps</h2><table><thead><tr><th scope="col">App id</th><th scope="col">Tenant</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Scopes</th><th scope="col">Secret</th></tr></thead><tbody>"#);
    for (i, a) in apps.iter().enumerate() {
        body.push_str(&format!(
            r#"<tr><td><code>{app_id}</code></td><td><code>{tenant}</code></td><td>{name}</td><td>{kind}</td>
<td><form class="inline" method="post" action="/console/admin/apps/scopes">{csrf}<input type="hidden" name="app_id" value="{app_id}">
<label for="scopes-{i}">Scopes of {name}</label><input id="scopes-{i}" name="scopes" value="{scopes}" size="40">
<button type="submit" class="secondary">Save scopes</button></form></td>
<td><form class="inline" method="post" action="/console/admin/apps/rotate_secret">{csrf}<input type="hidden" name="app_id" value="{app_id}">
<button type="submit" aria-label="Rotate the secret of {name}">Rotate secret</button></form></td></tr>"#,
            app_id = esc(&a.app_id),
            tenant = esc(&a.tenant_key),
            name = esc(&a.name),
            kind = a.app_type,
            scopes = esc(&a.scopes.join(" ")),
        ));
    }
    body.push_str(&format!(
        r#"</tbody></table>
<form method="post" action="/console/admin/apps">{csrf}
<label for="app_tenant">Tenant</label><select id="app_tenant" name="tenant_key" required>{tenants}</select>
<label for="app_name">New app's name</label><input id="app_name" name="name" required>
<label for="app_type">Type</label><select id="app_type" name="app_type"><option value="custom">custom (self-built)</option><option value="store">store</option></select>
<label for="app_scopes">Scopes (space separated; empty: the defaults)</label><input id="app_scopes" name="scopes" size="60">
<button type="submit">Create app</button></form></section>"#,
        tenants = tenant_options(&tenants)
    ));

    body.push_str(r#"<section aria-labelledby="hd-h"><h2 id="hd-h">Helpdesks</h2><table><thead><tr><th scope="col">Helpdesk id</th><th scope="col">Tenant</th><th scope="col">Name</th><th scope="col">Token</th></tr></thead><tbody>"#);
    for h in &helpdesks {
        body.push_str(&format!(
            r#"<tr><td><code>{id}</code></td><td><code>{tenant}</code></td><td>{name}</td>
<td><form class="inline" method="post" action="/console/admin/helpdesks/rotate_token">{csrf}<input type="hidden" name="helpdesk_id" value="{id}">
<button type="submit" aria-label="Rotate the token of {name}">Rotate token</button></form></td></tr>"#,
            id = esc(&h.helpdesk_id),
            tenant = esc(&h.tenant_key),
            name = esc(&h.name),
        ));
    }
    body.push_str(&format!(
        r#"</tbody></table>
<form method="post" action="/console/admin/helpdesks">{csrf}
<label for="hd_tenant">Tenant</label><select id="hd_tenant" name="tenant_key" required>{tenants}</select>
<label for="hd_name">New helpdesk's name</label><input id="hd_name" name="name" required>
<button type="submit">Create helpdesk</button></form></section>"#,
        tenants = tenant_options(&tenants)
    ));
    Ok(layout::ok("Apps & helpdesks", session, &body))
}

/// A secret shown once, above the overview.
fn shown_once(what: &str, id: &str, secret: &str) -> String {
    format!(
        r#"<section class="notice" role="status" aria-labelledby="secret-h"><h2 id="secret-h">{what} of <code>{id}</code></h2>
<p>Shown only now: it is stored hashed and cannot be shown again.</p>
<p class="secret" id="secret">{secret}</p></section>"#,
        what = esc(what),
        id = esc(id),
        secret = esc(secret)
    )
}

async fn create_tenant(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (_, form) = admin_form(&state, &headers, &body)?;
    let name = form.required("name", "A name")?;
    let key = form.get("tenant_key").map(str::trim).filter(|k| !k.is_empty());
    accounts::create_tenant(&*state.services.store, &name, key).await?;
    Ok(redirect("/console/admin"))
}

fn scopes_of(form: &Form) -> Option<Vec<String>> {
    let scopes: Vec<String> = form
        .get("scopes")
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    (!scopes.is_empty()).then_some(scopes)
}

async fn create_app(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let tenant_key = form.required("tenant_key", "A tenant")?;
    let name = form.required("name", "A name")?;
    let app_type = match form.get("app_type").unwrap_or("custom") {
        "custom" => AppType::Custom,
        "store" => AppType::Store,
        _ => return Err(PageError::bad_request("The type must be custom or store.")),
    };
    let created = accounts::create_app(
        &*state.services.store,
        &tenant_key,
        &name,
        app_type,
        scopes_of(&form),
    )
    .await?;
    render_overview(
        &state,
        &session,
        &shown_once("New app secret", &created.app_id, &created.app_secret),
    )
    .await
}

async fn rotate_secret(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let app_id = form.required("app_id", "An app")?;
    let secret = accounts::rotate_app_secret(&*state.services.store, &app_id).await?;
    render_overview(&state, &session, &shown_once("New app secret", &app_id, &secret)).await
}

async fn set_scopes(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (_, form) = admin_form(&state, &headers, &body)?;
    let app_id = form.required("app_id", "An app")?;
    let scopes = scopes_of(&form).unwrap_or_default();
    state.services.store.set_app_scopes(&app_id, &scopes).await?;
    state.auth.forget_credentials();
    Ok(redirect("/console/admin"))
}

async fn create_helpdesk(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let tenant_key = form.required("tenant_key", "A tenant")?;
    let name = form.required("name", "A name")?;
    let created = accounts::create_helpdesk(&*state.services.store, &tenant_key, &name, None).await?;
    render_overview(
        &state,
        &session,
        &shown_once(
            "New helpdesk token",
            &created.helpdesk_id,
            &created.helpdesk_token,
        ),
    )
    .await
}

async fn rotate_token(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let helpdesk_id = form.required("helpdesk_id", "A helpdesk")?;
    let token = accounts::rotate_helpdesk_token(&*state.services.store, &helpdesk_id).await?;
    state.auth.forget_credentials();
    render_overview(
        &state,
        &session,
        &shown_once("New helpdesk token", &helpdesk_id, &token),
    )
    .await
}

async fn users(State(state): State<SharedState>, headers: HeaderMap) -> PageResult {
    let session = admin_page(&state, &headers)?;
    render_users(&state, &session).await
}

async fn render_users(state: &SharedState, session: &Session) -> PageResult {
    let store = &*state.services.store;
    let tenants = accounts::list_tenants(store).await?;
    let users = accounts::list_users(store, None).await?;
    let csrf = csrf_field(session);
    let mut body = String::from(
        r#"<section aria-labelledby="users-h"><h2 id="users-h">Directory</h2><table><thead><tr><th scope="col">Tenant</th><th scope="col">open_id</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Agent</th></tr></thead><tbody>"#,
    );
    for u in &users {
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.tenant_key),
            esc(&u.open_id),
            esc(&u.name),
            esc(&u.email),
            if u.is_agent { "agent" } else { "—" }
        ));
    }
    body.push_str(&format!(
        r#"</tbody></table></section>
<section aria-labelledby="new-user-h"><h2 id="new-user-h">Add or update a user</h2>
<form method="post" action="/console/admin/users">{csrf}
<label for="user_tenant">Tenant</label><select id="user_tenant" name="tenant_key" required>{tenants}</select>
<label for="user_id">open_id (empty: a new one)</label><input id="user_id" name="id">
<label for="user_name">Name</label><input id="user_name" name="name" required>
<label for="user_email">Email</label><input id="user_email" name="email" type="email">
<label for="user_department">Department</label><input id="user_department" name="department">
<label for="user_city">City</label><input id="user_city" name="city">
<label><input type="checkbox" name="is_agent" value="1"> Agent (once an agent, always an agent)</label>
<button type="submit">Save user</button></form></section>"#,
        tenants = tenant_options(&tenants)
    ));
    Ok(layout::ok("Users & agents", session, &body))
}

async fn upsert_user(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (_, form) = admin_form(&state, &headers, &body)?;
    let tenant_key = form.required("tenant_key", "A tenant")?;
    let field = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
    let user = TicketUser {
        id: field("id"),
        name: form.required("name", "A name")?,
        email: field("email"),
        department: field("department"),
        city: field("city"),
        ..TicketUser::default()
    };
    accounts::upsert_user(
        &*state.services.store,
        &tenant_key,
        user,
        form.get("is_agent").is_some(),
    )
    .await?;
    Ok(redirect("/console/admin/users"))
}

async fn events(State(state): State<SharedState>, headers: HeaderMap) -> PageResult {
    let session = admin_page(&state, &headers)?;
    render_events(&state, &session).await
}

async fn render_events(state: &SharedState, session: &Session) -> PageResult {
    let store = &*state.services.store;
    let csrf = csrf_field(session);
    let mut body = String::from(
        r#"<section aria-labelledby="settings-h"><h2 id="settings-h">Where apps receive events</h2><table><thead><tr><th scope="col">App</th><th scope="col">Request URL</th><th scope="col">Change</th></tr></thead><tbody>"#,
    );
    for (i, app) in store.apps().await?.iter().enumerate() {
        let url = store
            .event_settings(app.id)
            .await?
            .map(|s| s.request_url)
            .unwrap_or_default();
        body.push_str(&format!(
            r#"<tr><td>{name} <code>{app_id}</code></td><td>{shown}</td>
<td><form class="inline" method="post" action="/console/admin/events">{csrf}<input type="hidden" name="app_id" value="{app_id}">
<label for="url-{i}">Request URL of {name}</label><input id="url-{i}" name="request_url" type="url" value="{url}" size="40">
<button type="submit" class="secondary">Verify and save</button></form></td></tr>"#,
            name = esc(&app.name),
            app_id = esc(&app.app_id),
            shown = if url.is_empty() {
                "<span class=\"muted\">none</span>".to_owned()
            } else {
                format!("<code>{}</code>", esc(&url))
            },
            url = esc(&url),
        ));
    }
    body.push_str(r#"</tbody></table><p class="muted">Saving sends Feishu's url_verification challenge first; an empty URL stops deliveries.</p></section>"#);
    body.push_str(r#"<section aria-labelledby="deliveries-h"><h2 id="deliveries-h">Recent deliveries</h2><table><thead><tr><th scope="col">Created</th><th scope="col">App</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Last error</th><th scope="col">Retry</th></tr></thead><tbody>"#);
    for d in store.deliveries(None, 100).await? {
        let retry = if d.status == "delivered" {
            String::new()
        } else {
            format!(
                r#"<form class="inline" method="post" action="/console/admin/events/retry">{csrf}<input type="hidden" name="event_id" value="{id}"><button type="submit" class="secondary" aria-label="Retry event {id} now">Retry now</button></form>"#,
                id = esc(&d.event_id)
            )
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{retry}</td></tr>",
            layout::time(d.created_at),
            esc(&d.app_id),
            esc(&d.event_type),
            esc(&d.event_id),
            esc(&d.status),
            d.attempts,
            layout::time(d.next_attempt_at),
            esc(&d.last_error)
        ));
    }
    body.push_str("</tbody></table></section>");
    Ok(layout::ok("Events", session, &body))
}

async fn set_events(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (_, form) = admin_form(&state, &headers, &body)?;
    let app_id = form.required("app_id", "An app")?;
    let url = form.get("request_url").unwrap_or_default().trim();
    if url.is_empty() {
        let app = state.services.store.app_by_app_id(&app_id).await?;
        state.services.store.set_event_settings(app.id, None).await?;
    } else {
        crate::admin::configure_events(&state, &app_id, url.to_owned(), None, None).await?;
    }
    Ok(redirect("/console/admin/events"))
}

async fn retry_delivery(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (_, form) = admin_form(&state, &headers, &body)?;
    let event_id = form.required("event_id", "An event")?;
    larkdesk_service::delivery::retry(&*state.services.store, &state.services.clock, &event_id).await?;
    Ok(redirect("/console/admin/events"))
}

async fn journal(State(state): State<SharedState>, headers: HeaderMap) -> PageResult {
    let session = admin_page(&state, &headers)?;
    let mut body = String::new();
    if !state.journal.enabled() {
        body.push_str(r#"<section><p>The request journal is off (start with <code>--journal N</code>; it is on by default in demo mode).</p></section>"#);
    } else {
        body.push_str(&format!(
            r#"<section aria-labelledby="journal-h"><h2 id="journal-h">Last requests (up to {} per app; secrets redacted)</h2><table><thead><tr><th scope="col">Time</th><th scope="col">Log id</th><th scope="col">App</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Code</th><th scope="col">Body</th></tr></thead><tbody>"#,
            state.journal.capacity()
        ));
        for e in state.journal.query(None, None, 200) {
            body.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                layout::time(e.time_ms),
                esc(&e.log_id),
                esc(e.app_id.as_deref().unwrap_or("—")),
                esc(&e.method),
                esc(&e.path),
                e.status,
                e.code.map_or_else(|| "—".to_owned(), |c| c.to_string()),
                esc(e.body.as_deref().unwrap_or(""))
            ));
        }
        body.push_str("</tbody></table></section>");
    }
    Ok(layout::ok("Request journal", &session, &body))
}
