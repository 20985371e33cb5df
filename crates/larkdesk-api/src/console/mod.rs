//! The web console under `/console`: server-rendered pages (htmx for live parts) for admins
//! (the admin token), agents (a directory user who is an agent) and, in demo mode, guests.
//!
//! Pages call the same service functions as the admin API; nothing here talks SQL or calls the
//! server over HTTP. Sessions live in memory (a restart signs everyone out): the browser holds a
//! random session id in an `HttpOnly`, `SameSite=Strict` cookie, the server only its SHA-256.
//! Every form carries the session's CSRF token, checked (in constant time) on every POST.

mod admin;
mod agent;
mod guest;
mod layout;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use larkdesk_domain::ids::TenantRowId;
use larkdesk_service::console as accounts;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::SharedState;
pub use layout::esc;

/// Where the console lives.
pub const PREFIX: &str = "/console";
/// The session cookie's name.
pub const COOKIE: &str = "larkdesk_console";
/// How long a session lasts by default (`serve --console-session-secs`).
pub const DEFAULT_SESSION_SECS: u64 = 8 * 60 * 60;
/// At most this many sessions at once; past it the one closest to expiry is dropped.
const MAX_SESSIONS: usize = 10_000;

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Admin,
    Agent(Person),
    /// Demo mode only: a directory user acting as a guest.
    Guest(Person),
}

/// A directory user signed in to the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub tenant: TenantRowId,
    pub tenant_key: String,
    pub open_id: String,
    pub name: String,
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub who: Who,
    /// The token every form of this session carries (`csrf`).
    pub csrf: String,
    expires: Instant,
}

/// The console's sessions (in memory, bounded) and settings.
pub struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
    demo: AtomicBool,
    ttl_secs: AtomicU64,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            by_hash: Mutex::new(HashMap::new()),
            demo: AtomicBool::new(false),
            ttl_secs: AtomicU64::new(DEFAULT_SESSION_SECS),
        }
    }
}

fn digest(session_id: &str) -> [u8; 32] {
    Sha256::digest(session_id.as_bytes()).into()
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Sessions {
    /// Demo mode: agents sign in by picking one, and the guest view is on.
    pub fn set_demo(&self, demo: bool) {
        self.demo.store(demo, Ordering::Relaxed);
    }

    pub fn demo(&self) -> bool {
        self.demo.load(Ordering::Relaxed)
    }

    /// How long a new session lasts (at least a second).
    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_secs.store(ttl.as_secs().max(1), Ordering::Relaxed);
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs.load(Ordering::Relaxed))
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a session; returns its id (only the browser keeps it).
    fn create(&self, who: Who) -> String {
        let id = random_hex();
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
        }
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            digest(&id),
            Session {
                who,
                csrf: random_hex(),
                expires: now + self.ttl(),
            },
        );
        id
    }

    /// The live session of this id (an expired one is forgotten).
    fn get(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let mut map = self.map();
        match map.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    fn remove(&self, id: &str) {
        self.map().remove(&digest(id));
    }

    /// How many sessions are held (expired ones included until they are next looked at).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/assets/{name}", get(asset))
        .route("/console/login", get(login_page).post(login_admin))
        .route("/console/login/agent", post(login_agent))
        .route("/console/login/guest", post(login_guest))
        .route("/console/logout", post(logout))
        .merge(admin::router())
        .merge(agent::router())
        .merge(guest::router())
        .route("/console/{*rest}", get(not_found).post(not_found))
}

/// An error shown as a page: its status and a message for people.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    /// Answer with a redirect to the sign-in page instead (a GET page without a session).
    to_login: bool,
    /// Answer a poll with its status only, which tells htmx to stop polling.
    stop_polling: bool,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            to_login: false,
            stop_polling: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "There is no such page or item.")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let message = if e.status.is_server_error() {
            format!(
                "Something went wrong on the server (log id {}).",
                crate::logid::current()
            )
        } else if e.status == StatusCode::NOT_FOUND && e.message.is_none() {
            "There is no such page or item.".to_owned()
        } else {
            e.message.unwrap_or(e.msg)
        };
        Self::new(e.status, message)
    }
}

impl From<larkdesk_service::Error> for PageError {
    fn from(e: larkdesk_service::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl From<larkdesk_store::StoreError> for PageError {
    fn from(e: larkdesk_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.to_login {
            return redirect("/console/login");
        }
        if self.stop_polling {
            return self.status.into_response();
        }
        let title = match self.status {
            StatusCode::BAD_REQUEST => "Cannot do that",
            StatusCode::UNAUTHORIZED => "Sign in needed",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            _ => "Error",
        };
        let body = format!(
            r#"<div class="error" role="alert"><p id="error-message">{}</p></div>
<p><a href="javascript:history.back()">Back</a> · <a href="/console">Console home</a></p>"#,
            esc(&self.message)
        );
        layout::respond(self.status, &layout::page(title, None, &body))
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// Path parameters of a page; one that does not decode is a "not found" page, not axum's text.
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for PagePath<T>
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> PageResult<Self> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => Err(PageError::not_found()),
        }
    }
}

/// The session id in the request's cookie, if any.
fn cookie_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The request's session, or "sign in first" (401).
pub(crate) fn session(state: &SharedState, headers: &HeaderMap) -> PageResult<Session> {
    cookie_id(headers)
        .and_then(|id| state.console.get(id))
        .ok_or_else(|| {
            PageError::new(
                StatusCode::UNAUTHORIZED,
                "Your session has ended or you have not signed in. Sign in again.",
            )
        })
}

/// A GET page's session, or a redirect to the sign-in page.
/// A live page's poll (htmx) whose session has ended is answered 286, which stops the polling
/// (rather than swapping the sign-in page into the live part).
pub(crate) fn session_or_login(state: &SharedState, headers: &HeaderMap) -> PageResult<Session> {
    session(state, headers).map_err(|mut e| {
        if headers.get("hx-request").is_some_and(|v| v == "true") {
            e.status = StatusCode::from_u16(286).unwrap_or(StatusCode::NO_CONTENT);
            e.stop_polling = true;
        } else {
            e.to_login = true;
        }
        e
    })
}

/// Whether the request carries a live session (its body may then be as large as the API's).
pub fn has_session(state: &crate::AppState, headers: &HeaderMap) -> bool {
    cookie_id(headers).is_some_and(|id| state.console.get(id).is_some())
}

/// A form's fields (`application/x-www-form-urlencoded`).
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A field that must be there and not blank, trimmed.
    pub fn required(&self, name: &str, label: &str) -> PageResult<String> {
        match self.get(name).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v.to_owned()),
            _ => Err(PageError::bad_request(format!("{label} is required."))),
        }
    }
}

/// A POST's session and form, refused unless the form carries the session's CSRF token.
pub(crate) fn checked_form(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> PageResult<(Session, Form)> {
    let session = session(state, headers)?;
    let form = Form::parse(body);
    let presented = form.get("csrf").unwrap_or_default();
    if !constant_time_eq::constant_time_eq(presented.as_bytes(), session.csrf.as_bytes()) {
        return Err(PageError::forbidden(
            "This form has expired or did not come from this console (CSRF check failed). Reload the page and try again.",
        ));
    }
    Ok((session, form))
}

/// 303 See Other.
pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

fn session_cookie(headers: &HeaderMap, value: &str, max_age: u64) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!(
        "{COOKIE}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Sign in: a new session, its cookie, and off to `to`.
fn signed_in(state: &SharedState, headers: &HeaderMap, who: Who, to: &str) -> Response {
    let id = state.console.create(who);
    let mut response = redirect(to);
    if let Ok(v) = session_cookie(headers, &id, state.console.ttl().as_secs()).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn home_of(who: &Who) -> &'static str {
    match who {
        Who::Admin => "/console/admin",
        Who::Agent(_) => "/console/agent",
        Who::Guest(_) => "/console/guest",
    }
}

async fn home(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match session(&state, &headers) {
        Ok(s) => redirect(home_of(&s.who)),
        Err(_) => redirect("/console/login"),
    }
}

async fn not_found() -> PageError {
    PageError::not_found()
}

async fn asset(PagePath(name): PagePath<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match name.as_str() {
        "htmx.min.js" => (
            include_bytes!("assets/htmx.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "console.css" => (include_bytes!("assets/console.css"), "text/css; charset=utf-8"),
        _ => return PageError::not_found().into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The directory users that may sign in by picking (demo mode): agents or guests.
async fn pickable(state: &SharedState, agents: bool) -> PageResult<Vec<accounts::UserInfo>> {
    Ok(accounts::list_users(&*state.services.store, None)
        .await?
        .into_iter()
        .filter(|u| u.is_agent == agents)
        .collect())
}

async fn login_page(State(state): State<SharedState>) -> PageResult {
    let demo = state.console.demo();
    let mut body = String::from(
        r#"<section aria-labelledby="admin-h"><h2 id="admin-h">Administrator</h2>
<form method="post" action="/console/login">
<label for="admin_token">Admin token</label>
<input type="password" id="admin_token" name="admin_token" autocomplete="current-password" required>
<button type="submit">Sign in as admin</button>
</form></section>"#,
    );
    body.push_str(r#"<section aria-labelledby="agent-h"><h2 id="agent-h">Agent</h2>"#);
    if demo {
        let options = user_options(&pickable(&state, true).await?);
        body.push_str(&format!(
            r#"<form method="post" action="/console/login/agent">
<label for="agent_user">Agent (demo mode: pick one)</label>
<select id="agent_user" name="user" required>{options}</select>
<button type="submit">Sign in as agent</button>
</form>"#
        ));
    } else {
        body.push_str(
            r#"<form method="post" action="/console/login/agent">
<label for="user_token">Agent's user access token (u-…, from the admin API)</label>
<input type="password" id="user_token" name="user_access_token" required>
<button type="submit">Sign in as agent</button>
</form>"#,
        );
    }
    body.push_str("</section>");
    if demo {
        let options = user_options(&pickable(&state, false).await?);
        body.push_str(&format!(
            r#"<section aria-labelledby="guest-h"><h2 id="guest-h">Guest (demo mode)</h2>
<form method="post" action="/console/login/guest">
<label for="guest_user">Guest</label>
<select id="guest_user" name="user" required>{options}</select>
<button type="submit">Sign in as guest</button>
</form></section>"#
        ));
    }
    Ok(layout::respond(
        StatusCode::OK,
        &layout::page("Sign in to larkdesk", None, &body),
    ))
}

fn user_options(users: &[accounts::UserInfo]) -> String {
    users
        .iter()
        .map(|u| {
            format!(
                r#"<option value="{}/{}">{} ({}, tenant {})</option>"#,
                esc(&u.tenant_key),
                esc(&u.open_id),
                esc(&u.name),
                esc(&u.email),
                esc(&u.tenant_key)
            )
        })
        .collect()
}

/// Sign-in forms carry no CSRF token (there is no session yet): refuse them when the browser says
/// they come from another site (`Sec-Fetch-Site`, else `Origin`), so no page elsewhere can sign a
/// visitor in to a session of its choosing.
fn same_site_form(headers: &HeaderMap) -> PageResult<()> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let foreign = match (header("sec-fetch-site"), header("origin")) {
        (Some(site), _) => !matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            let host = header("host").unwrap_or_default();
            origin.split_once("://").map(|(_, h)| h) != Some(host)
        }
        (None, None) => false,
    };
    if foreign {
        return Err(PageError::forbidden(
            "Sign in from the console's own sign-in page.",
        ));
    }
    Ok(())
}

async fn login_admin(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    same_site_form(&headers)?;
    let form = Form::parse(&body);
    let token = form.get("admin_token").unwrap_or_default().trim();
    if token.is_empty() || !accounts::is_admin_token(&*state.services.store, token).await? {
        return Err(PageError::new(
            StatusCode::UNAUTHORIZED,
            "That is not the admin token.",
        ));
    }
    Ok(signed_in(&state, &headers, Who::Admin, "/console/admin"))
}

/// The directory user a picked `tenant_key/open_id` names.
async fn picked(state: &SharedState, form: &Form) -> PageResult<(Person, bool)> {
    let value = form.required("user", "A user")?;
    let (tenant_key, open_id) = value
        .split_once('/')
        .ok_or_else(|| PageError::bad_request("Pick a user from the list."))?;
    let store = &*state.services.store;
    let tenant = match store.tenant_by_key(tenant_key).await {
        Ok(t) => t,
        Err(larkdesk_store::StoreError::NotFound) => {
            return Err(PageError::bad_request("No such user."));
        }
        Err(e) => return Err(e.into()),
    };
    let user = match store.user(tenant.id, open_id).await {
        Ok(u) => u,
        Err(larkdesk_store::StoreError::NotFound) => {
            return Err(PageError::bad_request("No such user."));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((
        Person {
            tenant: tenant.id,
            tenant_key: tenant.tenant_key,
            open_id: user.user.id,
            name: user.user.name,
        },
        user.is_agent,
    ))
}

async fn login_agent(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    same_site_form(&headers)?;
    let form = Form::parse(&body);
    let person = if state.console.demo() && form.get("user").is_some() {
        let (person, is_agent) = picked(&state, &form).await?;
        if !is_agent {
            return Err(PageError::bad_request("That user is not an agent."));
        }
        person
    } else {
        let token = form.required("user_access_token", "A user access token")?;
        let mut auth = HeaderMap::new();
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| PageError::new(StatusCode::UNAUTHORIZED, "That user access token is not valid."))?;
        auth.insert(header::AUTHORIZATION, value);
        let caller = state
            .auth
            .token_caller(&crate::auth::CallerHeaders::from_headers(&auth))
            .await;
        let user = match caller {
            Ok((_, Some(user))) if user.is_agent => user,
            Ok((_, Some(_))) => {
                return Err(PageError::forbidden("That user access token is not an agent's."));
            }
            _ => {
                return Err(PageError::new(
                    StatusCode::UNAUTHORIZED,
                    "That user access token is not valid.",
                ));
            }
        };
        let tenant = state.services.store.tenant_by_id(user.tenant_id).await?;
        Person {
            tenant: tenant.id,
            tenant_key: tenant.tenant_key,
            open_id: user.user.id,
            name: user.user.name,
        }
    };
    Ok(signed_in(&state, &headers, Who::Agent(person), "/console/agent"))
}

async fn login_guest(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    same_site_form(&headers)?;
    if !state.console.demo() {
        return Err(PageError::forbidden(
            "The guest view is available in demo mode only.",
        ));
    }
    let (person, _) = picked(&state, &Form::parse(&body)).await?;
    Ok(signed_in(&state, &headers, Who::Guest(person), "/console/guest"))
}

async fn logout(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> PageResult {
    checked_form(&state, &headers, &body)?;
    if let Some(id) = cookie_id(&headers) {
        state.console.remove(id);
    }
    let mut response = redirect("/console/login");
    if let Ok(v) = session_cookie(&headers, "", 0).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The agent behind a session, or 403.
pub(crate) fn agent_of(session: &Session) -> PageResult<&Person> {
    match &session.who {
        Who::Agent(p) => Ok(p),
        _ => Err(PageError::forbidden("This page is for agents.")),
    }
}

/// Format a ticket status for people.
pub(crate) fn status_label(status: i64) -> &'static str {
    match status {
        1 => "Created",
        2 => "In progress",
        3 => "Queued",
        4 => "Pending",
        5 => "Waiting for user",
        50 => "Closed by bot",
        51 => "Closed by agent",
        52 => "Closed by user",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_sessions(n: usize, sessions: &Sessions) -> Vec<String> {
        (0..n).map(|_| sessions.create(Who::Admin)).collect()
    }

    #[test]
    fn sessions_are_bounded_and_keyed_by_a_digest() {
        let sessions = Sessions::default();
        let ids = admin_sessions(MAX_SESSIONS + 5, &sessions);
        assert_eq!(sessions.len(), MAX_SESSIONS);
        // The newest are kept; only digests are held, never the ids.
        assert!(sessions.get(ids.last().unwrap()).is_some());
        let held = sessions.map();
        assert!(
            held.keys()
                .all(|k| ids.iter().all(|id| id.as_bytes() != k.as_slice()))
        );
        assert!(held.contains_key(&digest(ids.last().unwrap())));
    }

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::default();
        let id = sessions.create(Who::Admin);
        let session = sessions.get(&id).expect("a live session");
        assert_eq!(session.csrf.len(), 64);
        assert!(sessions.get("not-a-session").is_none());
        sessions.remove(&id);
        assert!(sessions.get(&id).is_none());
        let id = sessions.create(Who::Admin);
        sessions.map().get_mut(&digest(&id)).unwrap().expires = Instant::now();
        assert!(sessions.get(&id).is_none());
        assert!(
            sessions.is_empty(),
            "an expired session is forgotten when looked at"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; larkdesk_console=abc; b=2".parse().unwrap());
        assert_eq!(cookie_id(&headers), Some("abc"));
        headers.insert(header::COOKIE, "larkdesk_console=".parse().unwrap());
        assert_eq!(cookie_id(&headers), None);
    }
}
