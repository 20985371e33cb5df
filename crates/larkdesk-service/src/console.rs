//! What Feishu's developer console and admin pages do: create tenants, apps, helpdesks and users,
//! rotate secrets, import tickets. Shared by the `larkdesk admin …` CLI and the admin HTTP API so
//! both behave identically. Secrets are returned once, at creation or rotation, and stored hashed.

use larkdesk_domain::credentials::{self, SecretHash};
use larkdesk_domain::status::{TicketStage, TicketStatus};
use larkdesk_domain::{ids, lifecycle, scopes};
use larkdesk_store::prelude::*;
use larkdesk_store::{AppType, NewApp, NewHelpdesk, Tenant};
use larkdesk_wire::ticket::{Comments, CustomizedFieldDisplayItem, Ticket, TicketTag, TicketUser};
use serde::Serialize;

use crate::tickets::CHANNEL_OPEN_API;
use crate::{Error, Result};

/// Name of the admin token digest in `server_secrets`.
const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    pub tenant_key: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedApp {
    pub app_id: String,
    pub app_secret: String,
    pub tenant_key: String,
    pub name: String,
    pub app_type: &'static str,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedHelpdesk {
    pub helpdesk_id: String,
    pub helpdesk_token: String,
    pub tenant_key: String,
    pub name: String,
}

pub async fn create_tenant(store: &dyn Store, name: &str, tenant_key: Option<&str>) -> Result<CreatedTenant> {
    let key = tenant_key.map_or_else(ids::new_tenant_key, str::to_owned);
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::Invalid(
            "tenant_key must be 1-64 ASCII letters or digits".into(),
        ));
    }
    let tenant = store.create_tenant(&key, name).await?;
    Ok(CreatedTenant {
        tenant_key: tenant.tenant_key,
        name: tenant.name,
    })
}

pub async fn create_app(
    store: &dyn Store,
    tenant_key: &str,
    name: &str,
    app_type: AppType,
    app_scopes: Option<Vec<String>>,
) -> Result<CreatedApp> {
    let tenant = store.tenant_by_key(tenant_key).await?;
    let app_secret = credentials::new_app_secret();
    let scopes = app_scopes.unwrap_or_else(|| {
        scopes::DEFAULT_APP_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    let app = store
        .create_app(NewApp {
            app_id: ids::new_app_id(),
            tenant_id: tenant.id,
            name: name.to_owned(),
            app_type,
            scopes,
            secret_hash: SecretHash::of(&app_secret),
        })
        .await?;
    Ok(CreatedApp {
        app_id: app.app_id,
        app_secret,
        tenant_key: tenant.tenant_key,
        name: app.name,
        app_type: app.app_type.as_str(),
        scopes: app.scopes,
    })
}

/// Give an app a new secret. Tokens already issued stay valid until they expire, as on Feishu.
pub async fn rotate_app_secret(store: &dyn Store, app_id: &str) -> Result<String> {
    let secret = credentials::new_app_secret();
    store.set_app_secret(app_id, &SecretHash::of(&secret)).await?;
    Ok(secret)
}

/// Create a helpdesk; `helpdesk_id` (a digit string) is generated when not given.
pub async fn create_helpdesk(
    store: &dyn Store,
    tenant_key: &str,
    name: &str,
    helpdesk_id: Option<&str>,
) -> Result<CreatedHelpdesk> {
    if helpdesk_id.is_some_and(|id| !ids::is_valid_numeric_id(id)) {
        return Err(Error::Invalid("helpdesk_id must be a numeric string".into()));
    }
    let tenant = store.tenant_by_key(tenant_key).await?;
    let helpdesk_token = credentials::new_helpdesk_token();
    let helpdesk = store
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: helpdesk_id.map_or_else(ids::new_numeric_id, str::to_owned),
            tenant_id: tenant.id,
            name: name.to_owned(),
            token_hash: SecretHash::of(&helpdesk_token),
        })
        .await?;
    Ok(CreatedHelpdesk {
        helpdesk_id: helpdesk.helpdesk_id,
        helpdesk_token,
        tenant_key: tenant.tenant_key,
        name: helpdesk.name,
    })
}

pub async fn rotate_helpdesk_token(store: &dyn Store, helpdesk_id: &str) -> Result<String> {
    let token = credentials::new_helpdesk_token();
    store
        .set_helpdesk_token(helpdesk_id, &SecretHash::of(&token))
        .await?;
    Ok(token)
}

/// Create or update a user; a missing `id` gets a fresh open_id.
pub async fn upsert_user(
    store: &dyn Store,
    tenant_key: &str,
    mut user: TicketUser,
    is_agent: bool,
) -> Result<TicketUser> {
    let tenant = store.tenant_by_key(tenant_key).await?;
    if user.id.is_empty() {
        user.id = ids::new_open_id();
    }
    larkdesk_domain::limits::bounded("id", &user.id, larkdesk_domain::limits::KEY_MAX_BYTES)
        .map_err(Error::Invalid)?;
    store.upsert_user(tenant.id, &user, is_agent).await?;
    Ok(user)
}

/// Store a ticket given in the `ticket_v2` wire shape. A missing `ticket_id` is generated; the
/// `helpdesk_id` in the body is ignored in favour of the target helpdesk.
pub async fn import_ticket(store: &dyn Store, helpdesk_id: &str, mut ticket: Ticket) -> Result<Ticket> {
    let helpdesk = store.helpdesk_by_public_id(helpdesk_id).await?;
    if ticket.ticket_id.is_empty() {
        ticket.ticket_id = ids::new_numeric_id();
    } else if !ids::is_valid_numeric_id(&ticket.ticket_id) {
        return Err(Error::Invalid("ticket_id must be a numeric string".into()));
    }
    // The canonical form ("007" is ticket 7), so the projection rebuilt from the snapshot
    // matches the stored row.
    ticket.ticket_id = larkdesk_domain::ids::TicketId::parse(&ticket.ticket_id)
        .ok_or_else(|| Error::invalid("ticket_id must be a numeric string"))?
        .to_string();
    if ticket.updated_at < -1 {
        return Err(Error::Invalid(
            "updated_at must be -1 (unset) or a time in ms".into(),
        ));
    }
    if ticket.guest.id.is_empty() {
        return Err(Error::Invalid("guest.id is required".into()));
    }
    ticket.helpdesk_id = helpdesk.helpdesk_id.clone();
    crate::tickets::import(store, &helpdesk, &ticket).await?;
    Ok(ticket)
}

/// Set a new admin token and return it.
pub async fn rotate_admin_token(store: &dyn Store) -> Result<String> {
    let token = credentials::new_admin_token();
    store
        .set_secret(ADMIN_TOKEN_HASH, SecretHash::of(&token).0.to_vec())
        .await?;
    Ok(token)
}

/// Make `token` the admin token (used when it comes from configuration).
pub async fn set_admin_token(store: &dyn Store, token: &str) -> Result<()> {
    Ok(store
        .set_secret(ADMIN_TOKEN_HASH, SecretHash::of(token).0.to_vec())
        .await?)
}

/// Whether an admin token has been set (at first start one is generated).
pub async fn has_admin_token(store: &dyn Store) -> Result<bool> {
    Ok(store.secret(ADMIN_TOKEN_HASH).await?.is_some())
}

/// Whether `presented` is the admin token (compared as digests, in constant time).
pub async fn is_admin_token(store: &dyn Store, presented: &str) -> Result<bool> {
    let stored = store
        .secret(ADMIN_TOKEN_HASH)
        .await?
        .and_then(|b| SecretHash::from_slice(&b));
    Ok(stored.is_some_and(|hash| hash.matches(presented)))
}

/// Credentials of the demo installation, printed at first start.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DemoCredentials {
    pub tenant_key: String,
    pub app_id: String,
    pub app_secret: String,
    pub helpdesk_id: String,
    pub helpdesk_token: String,
    pub ticket_ids: Vec<String>,
}

fn person(id: String, name: &str, email: &str) -> TicketUser {
    TicketUser {
        id,
        avatar_url: "https://larkdesk.invalid/avatar.png".into(),
        name: name.into(),
        email: email.into(),
        department: "Demo".into(),
        city: "Hangzhou".into(),
        country: "CN".into(),
    }
}

/// Create the demo tenant, app, helpdesk, users and tickets. `now_ms` anchors ticket times.
pub async fn seed_demo(store: &dyn Store, now_ms: i64) -> Result<DemoCredentials> {
    let tenant: Tenant = {
        let created = create_tenant(store, "Demo Tenant", None).await?;
        store.tenant_by_key(&created.tenant_key).await?
    };
    let app = create_app(
        store,
        &tenant.tenant_key,
        "larkdesk demo app",
        AppType::Custom,
        None,
    )
    .await?;
    let helpdesk = create_helpdesk(store, &tenant.tenant_key, "Demo Helpdesk", None).await?;
    let guest = upsert_user(
        store,
        &tenant.tenant_key,
        person(String::new(), "Li Lei", "lilei@example.com"),
        false,
    )
    .await?;
    let agent = upsert_user(
        store,
        &tenant.tenant_key,
        person(String::new(), "Han Meimei", "hanmeimei@example.com"),
        true,
    )
    .await?;

    let minute = 60_000;
    let created = now_ms - 90 * minute;
    // An open ticket still with the bot.
    let bot_ticket = Ticket {
        guest: guest.clone(),
        ticket_type: TicketStage::Bot as i64,
        status: TicketStatus::InProgress.code(),
        created_at: now_ms - 5 * minute,
        updated_at: now_ms - 5 * minute,
        channel: CHANNEL_OPEN_API,
        solve: 1,
        ..lifecycle::empty_ticket("", "")
    };
    // A ticket an agent handled and closed: 2 min with the bot, first reply after 1 min, last
    // reply after 20 min, closed after 30 min, of which 10 min pending.
    let entry = created + 2 * minute;
    let closed_ticket = Ticket {
        guest: guest.clone(),
        comments: Some(Comments {
            content: "Customer asked for a refund".into(),
            created_at: entry + 25 * minute,
            id: 1,
            user_avatar_url: agent.avatar_url.clone(),
            user_name: agent.name.clone(),
            // The id every comment of this agent carries (derived from the open_id), so the agent
            // appears under one `comments.user_id`.
            user_id: larkdesk_domain::ids::stable_numeric_id(&agent.id),
        }),
        ticket_type: TicketStage::Human as i64,
        status: TicketStatus::ClosedByAgent.code(),
        score: 3,
        created_at: created,
        updated_at: entry + 30 * minute,
        closed_at: entry + 30 * minute,
        agents: vec![agent.clone()],
        solve: 2,
        closed_by: Some(agent.clone()),
        customized_fields: vec![CustomizedFieldDisplayItem {
            id: "1".into(),
            value: "Refund".into(),
            key_name: "category".into(),
            display_name: "Category".into(),
            position: 1,
            required: true,
            editable: true,
        }],
        agent_service_duration: 20.0,
        agent_first_response_duration: 60,
        bot_service_duration: 120,
        agent_resolution_time: 1800,
        actual_processing_time: 1200,
        agent_entry_time: entry,
        agent_first_response_time: entry + minute,
        agent_last_response_time: entry + 20 * minute,
        agent_owner: Some(agent.clone()),
        tags: vec![TicketTag {
            id: ids::new_numeric_id(),
            name: "refund".into(),
        }],
        ..bot_ticket.clone()
    };
    let mut ticket_ids = Vec::new();
    for ticket in [bot_ticket, closed_ticket] {
        ticket_ids.push(
            import_ticket(store, &helpdesk.helpdesk_id, ticket)
                .await?
                .ticket_id,
        );
    }
    Ok(DemoCredentials {
        tenant_key: tenant.tenant_key,
        app_id: app.app_id,
        app_secret: app.app_secret,
        helpdesk_id: helpdesk.helpdesk_id,
        helpdesk_token: helpdesk.helpdesk_token,
        ticket_ids,
    })
}

/// A tenant as the admin lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantInfo {
    pub tenant_key: String,
    pub name: String,
}

/// An app as the admin lists show it: no secret, not even its digest.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppInfo {
    pub app_id: String,
    pub tenant_key: String,
    pub name: String,
    pub app_type: &'static str,
    pub scopes: Vec<String>,
}

/// A helpdesk as the admin lists show it: no token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HelpdeskInfo {
    pub helpdesk_id: String,
    pub tenant_key: String,
    pub name: String,
}

/// A user as the admin lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub tenant_key: String,
    pub open_id: String,
    pub name: String,
    pub email: String,
    pub is_agent: bool,
}

/// The tenant key of each tenant row, for the lists.
async fn tenant_keys(store: &dyn Store) -> Result<std::collections::HashMap<ids::TenantRowId, String>> {
    Ok(store
        .tenants()
        .await?
        .into_iter()
        .map(|t| (t.id, t.tenant_key))
        .collect())
}

pub async fn list_tenants(store: &dyn Store) -> Result<Vec<TenantInfo>> {
    Ok(store
        .tenants()
        .await?
        .into_iter()
        .map(|t| TenantInfo {
            tenant_key: t.tenant_key,
            name: t.name,
        })
        .collect())
}

pub async fn list_apps(store: &dyn Store) -> Result<Vec<AppInfo>> {
    let keys = tenant_keys(store).await?;
    Ok(store
        .apps()
        .await?
        .into_iter()
        .map(|a| AppInfo {
            tenant_key: keys.get(&a.tenant_id).cloned().unwrap_or_default(),
            app_id: a.app_id,
            name: a.name,
            app_type: a.app_type.as_str(),
            scopes: a.scopes,
        })
        .collect())
}

pub async fn list_helpdesks(store: &dyn Store) -> Result<Vec<HelpdeskInfo>> {
    let keys = tenant_keys(store).await?;
    Ok(store
        .helpdesks()
        .await?
        .into_iter()
        .map(|h| HelpdeskInfo {
            tenant_key: keys.get(&h.tenant_id).cloned().unwrap_or_default(),
            helpdesk_id: h.helpdesk_id,
            name: h.name,
        })
        .collect())
}

/// The users of one tenant, or of every tenant.
pub async fn list_users(store: &dyn Store, tenant_key: Option<&str>) -> Result<Vec<UserInfo>> {
    let tenants = match tenant_key {
        Some(key) => vec![store.tenant_by_key(key).await?],
        None => store.tenants().await?,
    };
    let mut out = Vec::new();
    for tenant in tenants {
        for (user, is_agent) in store.users(tenant.id).await? {
            out.push(UserInfo {
                tenant_key: tenant.tenant_key.clone(),
                open_id: user.id,
                name: user.name,
                email: user.email,
                is_agent,
            });
        }
    }
    Ok(out)
}

/// The newest `limit` tickets (1..=1000), newest first.
pub async fn list_tickets(store: &dyn Store, limit: i64) -> Result<Vec<larkdesk_store::TicketSummary>> {
    Ok(store.ticket_summaries(limit.clamp(1, 1000)).await?)
}

/// Empty the installation (the admin token stays) and, with `demo`, create the demo
/// installation again; returns its new credentials.
pub async fn reset(store: &dyn Store, demo: bool, now_ms: i64) -> Result<Option<DemoCredentials>> {
    store.reset().await?;
    if demo {
        Ok(Some(seed_demo(store, now_ms).await?))
    } else {
        Ok(None)
    }
}

/// The `format` of a snapshot document.
pub const SNAPSHOT_FORMAT: &str = "larkdesk-snapshot";
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u64 = 1;

/// The whole installation but its secrets (the admin token, the token signing key) as one JSON
/// document: `{"format":"larkdesk-snapshot","version":1,"tables":{name:[rows…]}}`.
pub async fn snapshot(store: &dyn Store) -> Result<serde_json::Value> {
    let tables: serde_json::Map<String, serde_json::Value> = store
        .snapshot()
        .await?
        .into_iter()
        .map(|(name, rows)| {
            (
                name,
                serde_json::Value::from(
                    rows.into_iter()
                        .map(serde_json::Value::Object)
                        .collect::<Vec<_>>(),
                ),
            )
        })
        .collect();
    Ok(serde_json::json!({
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "tables": tables,
    }))
}

/// Replace the installation with the one `document` ([`snapshot`]) holds, in one transaction.
/// A document of another format or version, with an unknown table, or with rows the schema
/// refuses is `Invalid`, and nothing changes. Tables of earlier versions that hold derived rows
/// ([`larkdesk_store::DROPPED_TABLES`]) are passed over.
pub async fn restore(store: &dyn Store, document: &serde_json::Value) -> Result<()> {
    let invalid = |why: &str| Error::Invalid(format!("not a larkdesk snapshot: {why}"));
    if document.get("format").and_then(|f| f.as_str()) != Some(SNAPSHOT_FORMAT) {
        return Err(invalid("format must be \"larkdesk-snapshot\""));
    }
    if document.get("version").and_then(serde_json::Value::as_u64) != Some(SNAPSHOT_VERSION) {
        return Err(invalid("version must be 1"));
    }
    let Some(tables) = document.get("tables").and_then(|t| t.as_object()) else {
        return Err(invalid("tables must be an object"));
    };
    let mut parsed = Vec::with_capacity(tables.len());
    for (name, rows) in tables {
        if larkdesk_store::DROPPED_TABLES.contains(&name.as_str()) {
            continue;
        }
        if !larkdesk_store::RESET_ORDER.contains(&name.as_str()) {
            return Err(invalid(&format!("unknown table {name}")));
        }
        let Some(rows) = rows.as_array() else {
            return Err(invalid(&format!("table {name} must be an array of rows")));
        };
        let rows = rows
            .iter()
            .map(|row| row.as_object().cloned())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(&format!("rows of table {name} must be objects")))?;
        parsed.push((name.clone(), rows));
    }
    Ok(store.restore(&parsed).await?)
}
