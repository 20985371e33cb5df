//! larkdesk's own admin API under `/larkdesk/admin/v1`, protected by the admin token
//! (`Authorization: Bearer <admin token>`). It does what Feishu's console does; see [`console`].
//! Responses use the same `{code,msg,data}` envelope as the Feishu API.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use larkdesk_domain::token::TokenKind;
use larkdesk_service::{console, delivery};
use larkdesk_store::AppType;
use larkdesk_wire::ticket::{Ticket, TicketUser};
use serde::Deserialize;
use serde_json::json;

use crate::emulator;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, success};
use crate::state::SharedState;

pub const PREFIX: &str = "/larkdesk/admin/v1";

/// An operation of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminOp {
    CreateTenant,
    ListTenants,
    CreateApp,
    ListApps,
    RotateAppSecret,
    SetAppScopes,
    SetAppWireProfile,
    MintTenantToken,
    CreateHelpdesk,
    ListHelpdesks,
    ListTickets,
    Reset,
    Snapshot,
    Restore,
    Journal,
    ClearJournal,
    RotateHelpdeskToken,
    ImportTicket,
    TicketEvents,
    TicketAction,
    PutFaqImage,
    DecideNotification,
    UpsertUser,
    ListUsers,
    MintUserToken,
    RebuildProjections,
    SetAppEvents,
    ClearAppEvents,
    ListDeliveries,
    AdvanceClock,
}

/// One route of the admin API: its path is under [`PREFIX`].
#[derive(Debug, Clone)]
pub struct AdminRoute {
    pub op: AdminOp,
    pub method: Method,
    pub path: &'static str,
}

const fn route(op: AdminOp, method: Method, path: &'static str) -> AdminRoute {
    AdminRoute { op, method, path }
}

use AdminOp as A;

/// Every admin route; the router and the OpenAPI document are made from it.
#[rustfmt::skip]
pub static ROUTES: &[AdminRoute] = &[
    route(A::CreateTenant, Method::POST, "/tenants"),
    route(A::ListTenants, Method::GET, "/tenants"),
    route(A::CreateApp, Method::POST, "/apps"),
    route(A::ListApps, Method::GET, "/apps"),
    route(A::RotateAppSecret, Method::POST, "/apps/{app_id}/rotate_secret"),
    route(A::SetAppScopes, Method::PUT, "/apps/{app_id}/scopes"),
    route(A::SetAppWireProfile, Method::PUT, "/apps/{app_id}/wire_profile"),
    route(A::MintTenantToken, Method::POST, "/apps/{app_id}/tenant_access_token"),
    route(A::CreateHelpdesk, Method::POST, "/helpdesks"),
    route(A::ListHelpdesks, Method::GET, "/helpdesks"),
    route(A::ListTickets, Method::GET, "/tickets"),
    route(A::Reset, Method::POST, "/reset"),
    route(A::Snapshot, Method::GET, "/snapshot"),
    route(A::Restore, Method::POST, "/restore"),
    route(A::Journal, Method::GET, "/journal"),
    route(A::ClearJournal, Method::DELETE, "/journal"),
    route(A::RotateHelpdeskToken, Method::POST, "/helpdesks/{helpdesk_id}/rotate_token"),
    route(A::ImportTicket, Method::POST, "/helpdesks/{helpdesk_id}/tickets"),
    route(A::TicketEvents, Method::GET, "/helpdesks/{helpdesk_id}/tickets/{ticket_id}/events"),
    route(A::TicketAction, Method::POST, "/helpdesks/{helpdesk_id}/tickets/{ticket_id}/{action}"),
    route(A::PutFaqImage, Method::POST, "/helpdesks/{helpdesk_id}/faqs/{faq_id}/images"),
    route(A::DecideNotification, Method::POST, "/helpdesks/{helpdesk_id}/notifications/{notification_id}/{decision}"),
    route(A::UpsertUser, Method::POST, "/users"),
    route(A::ListUsers, Method::GET, "/users"),
    route(A::MintUserToken, Method::POST, "/tenants/{tenant_key}/users/{open_id}/user_access_token"),
    route(A::RebuildProjections, Method::POST, "/rebuild_projections"),
    route(A::SetAppEvents, Method::PUT, "/apps/{app_id}/events"),
    route(A::ClearAppEvents, Method::DELETE, "/apps/{app_id}/events"),
    route(A::ListDeliveries, Method::GET, "/event_deliveries"),
    route(A::AdvanceClock, Method::POST, "/clock/advance"),
];

/// The handler of each admin operation.
fn handler(op: AdminOp, method: MethodFilter) -> MethodRouter<SharedState> {
    match op {
        A::CreateTenant => on(method, create_tenant),
        A::ListTenants => on(method, list_tenants),
        A::CreateApp => on(method, create_app),
        A::ListApps => on(method, list_apps),
        A::RotateAppSecret => on(method, rotate_app_secret),
        A::SetAppScopes => on(method, set_app_scopes),
        A::SetAppWireProfile => on(method, set_app_wire_profile),
        A::MintTenantToken => on(method, mint_tenant_token),
        A::CreateHelpdesk => on(method, create_helpdesk),
        A::ListHelpdesks => on(method, list_helpdesks),
        A::ListTickets => on(method, list_tickets),
        A::Reset => on(method, reset),
        A::Snapshot => on(method, snapshot),
        A::Restore => on(method, restore),
        A::Journal => on(method, journal),
        A::ClearJournal => on(method, clear_journal),
        A::RotateHelpdeskToken => on(method, rotate_helpdesk_token),
        A::ImportTicket => on(method, import_ticket),
        A::TicketEvents => on(method, emulator::events),
        A::TicketAction => on(method, emulator::act),
        A::PutFaqImage => on(method, put_faq_image),
        A::DecideNotification => on(method, decide_notification),
        A::UpsertUser => on(method, upsert_user),
        A::ListUsers => on(method, list_users),
        A::MintUserToken => on(method, mint_user_token),
        A::RebuildProjections => on(method, rebuild_projections),
        A::SetAppEvents => on(method, set_app_events),
        A::ClearAppEvents => on(method, clear_app_events),
        A::ListDeliveries => on(method, list_deliveries),
        A::AdvanceClock => on(method, advance_clock),
    }
}

pub fn router(state: SharedState) -> Router<SharedState> {
    // Routes that share a path become one route with several methods.
    ROUTES
        .iter()
        .fold(Router::new(), |router, r| {
            let method = MethodFilter::try_from(r.method.clone()).expect("the table uses standard methods");
            router.route(r.path, handler(r.op, method))
        })
        .route_layer(middleware::from_fn_with_state(state, require_admin))
        // Every admin error is a JSON envelope, an unknown admin path or method too.
        .fallback(admin_not_found)
        .method_not_allowed_fallback(admin_not_found)
}

async fn admin_not_found() -> ApiError {
    ApiError::not_found().with_message("no such admin API path or method")
}

/// Path parameters of an admin route; one that cannot be decoded (not UTF-8 once
/// percent-decoded, the wrong shape) is a JSON 400 / `154000`, not axum's plain-text 400.
pub struct AdminPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for AdminPath<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request().with_message(rejection.body_text())),
        }
    }
}

async fn require_admin(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> ApiResult<Response> {
    check_admin(&state, request.headers()).await?;
    Ok(next.run(request).await)
}

/// Whether `headers` carry the admin token (`Authorization: Bearer <admin token>`).
pub async fn check_admin(state: &crate::AppState, headers: &axum::http::HeaderMap) -> ApiResult<()> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    if console::is_admin_token(&*state.services.store, presented).await? {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

type Body = Result<Bytes, BytesRejection>;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTenant {
    name: String,
    #[serde(default)]
    tenant_key: Option<String>,
}

async fn create_tenant(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: NewTenant = parse_body(body)?;
    Ok(success(
        console::create_tenant(&*state.services.store, &req.name, req.tenant_key.as_deref()).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewApp {
    tenant_key: String,
    name: String,
    #[serde(default)]
    app_type: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

async fn create_app(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: NewApp = parse_body(body)?;
    let app_type = match req.app_type.as_deref() {
        None => AppType::Custom,
        Some(t) => AppType::parse(t)
            .ok_or_else(|| ApiError::bad_request().with_message("app_type must be custom or store"))?,
    };
    Ok(success(
        console::create_app(
            &*state.services.store,
            &req.tenant_key,
            &req.name,
            app_type,
            req.scopes,
        )
        .await?,
    ))
}

async fn rotate_app_secret(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
) -> ApiResult<Response> {
    let app_secret = console::rotate_app_secret(&*state.services.store, &app_id).await?;
    Ok(success(json!({ "app_id": app_id, "app_secret": app_secret })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AppScopes)]
pub(crate) struct Scopes {
    scopes: Vec<String>,
}

async fn set_app_scopes(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: Scopes = parse_body(body)?;
    state.services.store.set_app_scopes(&app_id, &req.scopes).await?;
    state.auth.forget_credentials();
    Ok(success(json!({ "app_id": app_id, "scopes": req.scopes })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct WireProfileBody {
    wire_profile: String,
}

/// Answer an app with the documented wire (`docs`, the default) or with what the production API
/// is publicly reported to send (`production`; see the README's "Wire profiles").
async fn set_app_wire_profile(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: WireProfileBody = parse_body(body)?;
    let profile = larkdesk_store::WireProfile::parse(&req.wire_profile)
        .ok_or_else(|| ApiError::bad_request().with_message("wire_profile must be docs or production"))?;
    state
        .services
        .store
        .set_app_wire_profile(&app_id, profile)
        .await?;
    state.auth.forget_credentials();
    Ok(success(
        json!({ "app_id": app_id, "wire_profile": profile.as_str() }),
    ))
}

/// Mint a tenant token for any app, including store apps that cannot use the internal endpoint.
async fn mint_tenant_token(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
) -> ApiResult<Response> {
    let app = state.services.store.app_by_app_id(&app_id).await?;
    let (token, expire) = state.tokens.mint(TokenKind::Tenant, app.id, None).await?;
    Ok(success(json!({ "tenant_access_token": token, "expire": expire })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UserTokenRequest)]
pub(crate) struct UserToken {
    app_id: String,
}

/// Mint a user access token acting as a user (an agent) through an app of the same tenant.
async fn mint_user_token(
    State(state): State<SharedState>,
    AdminPath((tenant_key, open_id)): AdminPath<(String, String)>,
    body: Body,
) -> ApiResult<Response> {
    let req: UserToken = parse_body(body)?;
    let tenant = state.services.store.tenant_by_key(&tenant_key).await?;
    let app = state.services.store.app_by_app_id(&req.app_id).await?;
    if app.tenant_id != tenant.id {
        return Err(ApiError::bad_request().with_message("the app belongs to another tenant"));
    }
    let user = state.services.store.user(tenant.id, &open_id).await?;
    let (token, expire) = state.tokens.mint(TokenKind::User, app.id, Some(user.id)).await?;
    Ok(success(json!({ "user_access_token": token, "expire": expire })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct AppEvents {
    request_url: String,
    #[serde(default)]
    verification_token: Option<String>,
    #[serde(default)]
    encrypt_key: Option<String>,
}

/// Where an app receives events. The URL must pass Feishu's url_verification challenge first,
/// as in Feishu's console. A verification token is generated when none is given.
async fn set_app_events(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: AppEvents = parse_body(body)?;
    let settings = configure_events(
        &state,
        &app_id,
        req.request_url,
        req.verification_token,
        req.encrypt_key,
    )
    .await?;
    Ok(success(json!({
        "app_id": app_id,
        "request_url": settings.request_url,
        "verification_token": settings.verification_token,
        "encrypt_key": settings.encrypt_key,
    })))
}

/// Check and verify an app's event request URL, then keep it (the admin API and the console).
pub(crate) async fn configure_events(
    state: &crate::AppState,
    app_id: &str,
    request_url: String,
    verification_token: Option<String>,
    encrypt_key: Option<String>,
) -> ApiResult<larkdesk_store::EventSettings> {
    let app = state.services.store.app_by_app_id(app_id).await?;
    delivery::check_target(&request_url, state.event_allow_private)
        .map_err(|why| ApiError::bad_request().with_message(why))?;
    let settings = larkdesk_store::EventSettings {
        request_url,
        verification_token: verification_token
            .filter(|t| !t.is_empty())
            .unwrap_or_else(larkdesk_domain::credentials::new_app_secret),
        encrypt_key: encrypt_key.filter(|k| !k.is_empty()),
    };
    let config = delivery::DeliveryConfig {
        allow_private: state.event_allow_private,
        ..Default::default()
    };
    let client = delivery::http_client(&config);
    delivery::verify_url(&client, &settings, config.allow_private)
        .await
        .map_err(|why| ApiError::bad_request().with_message(format!("URL verification failed: {why}")))?;
    state
        .services
        .store
        .set_event_settings(app.id, Some(&settings))
        .await?;
    Ok(settings)
}

async fn clear_app_events(
    State(state): State<SharedState>,
    AdminPath(app_id): AdminPath<String>,
) -> ApiResult<Response> {
    let app = state.services.store.app_by_app_id(&app_id).await?;
    state.services.store.set_event_settings(app.id, None).await?;
    Ok(success(json!({})))
}

/// `GET /event_deliveries?app_id=&limit=`: recent deliveries, newest first.
async fn list_deliveries(
    State(state): State<SharedState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let q = crate::query::QueryParams::parse(raw.as_deref());
    let limit = q.int("limit")?.unwrap_or(50).clamp(1, 1000);
    let deliveries = state.services.store.deliveries(q.get("app_id"), limit).await?;
    Ok(success(json!({ "deliveries": deliveries })))
}

async fn rebuild_projections(State(state): State<SharedState>) -> ApiResult<Response> {
    Ok(success(state.services.tickets.rebuild().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewHelpdesk {
    tenant_key: String,
    name: String,
    #[serde(default)]
    helpdesk_id: Option<String>,
}

async fn create_helpdesk(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: NewHelpdesk = parse_body(body)?;
    Ok(success(
        console::create_helpdesk(
            &*state.services.store,
            &req.tenant_key,
            &req.name,
            req.helpdesk_id.as_deref(),
        )
        .await?,
    ))
}

async fn rotate_helpdesk_token(
    State(state): State<SharedState>,
    AdminPath(helpdesk_id): AdminPath<String>,
) -> ApiResult<Response> {
    let token = console::rotate_helpdesk_token(&*state.services.store, &helpdesk_id).await?;
    state.auth.forget_credentials();
    Ok(success(
        json!({ "helpdesk_id": helpdesk_id, "helpdesk_token": token }),
    ))
}

async fn import_ticket(
    State(state): State<SharedState>,
    AdminPath(helpdesk_id): AdminPath<String>,
    body: Body,
) -> ApiResult<Response> {
    let ticket: Ticket = parse_body(body)?;
    let ticket = console::import_ticket(&*state.services.store, &helpdesk_id, ticket).await?;
    Ok(success(json!({ "ticket_id": ticket.ticket_id })))
}

/// A user as given to the admin API: a `ticket_user` whose `id` may be omitted.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewUser {
    tenant_key: String,
    #[serde(flatten)]
    user: TicketUser,
    #[serde(default)]
    is_agent: bool,
}

async fn upsert_user(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: NewUser = parse_body(body)?;
    Ok(success(
        console::upsert_user(&*state.services.store, &req.tenant_key, req.user, req.is_agent).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdvanceClock)]
pub(crate) struct Advance {
    seconds: i64,
}

async fn advance_clock(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: Advance = parse_body(body)?;
    if req.seconds < 0 || !state.services.clock.advance_ms(req.seconds.saturating_mul(1000)) {
        return Err(ApiError::forbidden()
            .with_message("clock control is off (start with --clock-control) or seconds is negative"));
    }
    // Schedules may have opened: tickets waiting for an agent are routed at the new time.
    state.services.agents.route_all().await?;
    Ok(success(json!({ "now_ms": state.services.clock.now_ms() })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminFaqImage)]
pub(crate) struct FaqImage {
    /// base64 of the image's bytes.
    image: String,
    #[serde(default)]
    image_key: Option<String>,
}

/// Store an image for a FAQ (Feishu's FAQ editor uploads them); returns its key, which the
/// FAQ's `answer_richtext` can show as `{"type": "img", "content": key}`.
async fn put_faq_image(
    State(state): State<SharedState>,
    AdminPath((helpdesk_id, faq_id)): AdminPath<(String, String)>,
    body: Body,
) -> ApiResult<Response> {
    use base64::Engine;
    let req: FaqImage = parse_body(body)?;
    let id = larkdesk_domain::ids::FaqId::parse(&faq_id)
        .ok_or_else(|| ApiError::bad_request().with_message("faq_id must be a numeric string"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.image.trim())
        .map_err(|_| ApiError::bad_request().with_message("image must be base64"))?;
    let helpdesk = state.services.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let key = state
        .services
        .faqs
        .put_image(&helpdesk, id, req.image_key, &bytes)
        .await?;
    Ok(success(json!({ "image_key": key })))
}

/// The approver's decision on a submitted push job: `approve` or `reject` (Feishu's approver
/// acts in the Feishu app). Pushes `helpdesk.notification.approve_v1`.
async fn decide_notification(
    State(state): State<SharedState>,
    AdminPath((helpdesk_id, notification_id, decision)): AdminPath<(String, String, String)>,
) -> ApiResult<Response> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::not_found().with_message("decision must be approve or reject")),
    };
    let id = larkdesk_domain::ids::NotificationId::parse(&notification_id)
        .ok_or_else(|| ApiError::bad_request().with_message("notification_id must be a numeric string"))?;
    let helpdesk = state.services.store.helpdesk_by_public_id(&helpdesk_id).await?;
    let status = state
        .services
        .notifications
        .decide(&helpdesk, id, approve)
        .await?;
    Ok(success(json!({ "status": status.code() })))
}

/// `GET /tenants`: every tenant (key and name).
async fn list_tenants(State(state): State<SharedState>) -> ApiResult<Response> {
    Ok(success(
        json!({ "tenants": console::list_tenants(&*state.services.store).await? }),
    ))
}

/// `GET /apps`: every app, without its secret.
async fn list_apps(State(state): State<SharedState>) -> ApiResult<Response> {
    Ok(success(
        json!({ "apps": console::list_apps(&*state.services.store).await? }),
    ))
}

/// `GET /helpdesks`: every helpdesk, without its token.
async fn list_helpdesks(State(state): State<SharedState>) -> ApiResult<Response> {
    Ok(success(
        json!({ "helpdesks": console::list_helpdesks(&*state.services.store).await? }),
    ))
}

/// `GET /users?tenant_key=`: the directory of one tenant, or of all.
async fn list_users(
    State(state): State<SharedState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let q = crate::query::QueryParams::parse(raw.as_deref());
    let users = console::list_users(&*state.services.store, q.get("tenant_key")).await?;
    Ok(success(json!({ "users": users })))
}

/// `GET /tickets?limit=`: the newest tickets of every helpdesk (ids, status, times).
async fn list_tickets(
    State(state): State<SharedState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let q = crate::query::QueryParams::parse(raw.as_deref());
    let limit = q.int("limit")?.unwrap_or(100);
    let tickets = console::list_tickets(&*state.services.store, limit).await?;
    Ok(success(json!({ "tickets": tickets })))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = ResetRequest)]
pub(crate) struct Reset {
    /// Re-create the demo installation after emptying (its new credentials are returned).
    #[serde(default)]
    demo: bool,
}

/// `POST /reset {"demo": bool}`: back to an empty installation or to fresh demo data, with an
/// empty request journal. The admin token stays; every other credential is gone.
async fn reset(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let req: Reset = match &body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Reset::default(),
        _ => parse_body(body)?,
    };
    let demo = console::reset(&*state.services.store, req.demo, state.services.clock.now_ms()).await;
    // Whatever happened, nothing read before may be served again, and the journal starts anew.
    state.auth.forget_credentials();
    state.tickets.bump();
    state.journal.clear(None);
    Ok(success(json!({ "demo": demo? })))
}

/// `GET /snapshot`: the whole installation but its secrets, as the document `POST /restore`
/// takes (see [`console::snapshot`]), not wrapped in the usual envelope.
async fn snapshot(State(state): State<SharedState>) -> ApiResult<Response> {
    let document = console::snapshot(&*state.services.store).await?;
    Ok(axum::Json(document).into_response())
}

/// `POST /restore` with a snapshot document: the installation becomes what it holds (the admin
/// token stays), with an empty request journal and no cached credential or ticket.
async fn restore(State(state): State<SharedState>, body: Body) -> ApiResult<Response> {
    let document: serde_json::Value = parse_body(body)?;
    let restored = console::restore(&*state.services.store, &document).await;
    if restored.is_ok() {
        state.auth.forget_credentials();
        state.tickets.bump();
        state.journal.clear(None);
    }
    restored?;
    Ok(success(json!({})))
}

/// `GET /journal?app_id=&log_id=&limit=`: journaled requests, newest first (`app_id=` empty:
/// requests of no app). `enabled` and `capacity` say whether and how much is kept.
async fn journal(
    State(state): State<SharedState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let q = crate::query::QueryParams::parse(raw.as_deref());
    let limit = q.int("limit")?.unwrap_or(100).clamp(1, 10_000);
    let entries = state.journal.query(
        q.get("app_id"),
        q.get("log_id"),
        usize::try_from(limit).unwrap_or(100),
    );
    Ok(success(json!({
        "enabled": state.journal.enabled(),
        "capacity": state.journal.capacity(),
        "entries": entries,
    })))
}

/// `DELETE /journal?app_id=`: forget the journaled requests of one app, or all.
async fn clear_journal(
    State(state): State<SharedState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Response> {
    let q = crate::query::QueryParams::parse(raw.as_deref());
    Ok(success(
        json!({ "cleared": state.journal.clear(q.get("app_id")) }),
    ))
}
