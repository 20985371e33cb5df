//! Storage: one [`Store`] trait, implemented per backend. The backend is chosen by the database
//! URL scheme ([`connect`]); each backend has its own migrations under `migrations/<backend>`.

mod models;
mod sqlite;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_wire::ticket::{Ticket, TicketUser};

pub use models::*;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's input cannot be stored (bad id shape, missing field).
    #[error("bad input: {0}")]
    BadInput(String),
    /// Stored data failed to decode: a bug or a hand-edited database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything larkdesk persists. Implementations must be safe to share between instances
/// pointing at the same database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Read a named installation secret, creating it with `init` if it does not exist yet.
    /// Concurrent first calls from several instances agree on one value.
    async fn secret_or_init(&self, name: &str, init: Vec<u8>) -> StoreResult<Vec<u8>>;
    async fn set_secret(&self, name: &str, value: Vec<u8>) -> StoreResult<()>;
    async fn secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;

    /// True when no tenant exists yet (first start).
    async fn is_empty(&self) -> StoreResult<bool>;

    async fn create_tenant(&self, tenant_key: &str, name: &str) -> StoreResult<Tenant>;
    async fn tenant_by_key(&self, tenant_key: &str) -> StoreResult<Tenant>;
    async fn tenant_by_id(&self, id: i64) -> StoreResult<Tenant>;

    async fn create_app(&self, new: NewApp) -> StoreResult<App>;
    async fn app_by_app_id(&self, app_id: &str) -> StoreResult<App>;
    async fn app_by_row_id(&self, id: i64) -> StoreResult<App>;
    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()>;
    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()>;

    /// The newest token minted for an app and kind: `(issued_at_secs, expires_at_secs)`.
    async fn current_token(&self, app_row_id: i64, kind: &str) -> StoreResult<Option<(i64, i64)>>;
    async fn record_token(&self, app_row_id: i64, kind: &str, issued: i64, expires: i64) -> StoreResult<()>;

    async fn create_helpdesk(&self, new: NewHelpdesk) -> StoreResult<Helpdesk>;
    async fn helpdesk_by_public_id(&self, helpdesk_id: &str) -> StoreResult<Helpdesk>;
    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()>;

    /// Insert or update a user (keyed by tenant and open_id).
    async fn upsert_user(&self, tenant_id: i64, user: &TicketUser, is_agent: bool) -> StoreResult<()>;
    async fn users(&self, tenant_id: i64) -> StoreResult<Vec<(TicketUser, bool)>>;

    /// Store a ticket as given (used by imports, the demo data and tests). People it names that
    /// the tenant's directory does not know yet are added with the profile given; known people
    /// keep their directory profile. All or nothing.
    async fn insert_ticket(&self, helpdesk: &Helpdesk, ticket: &Ticket) -> StoreResult<()>;
    /// A ticket of this helpdesk; `NotFound` for other helpdesks' tickets.
    async fn ticket(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Ticket>;
    async fn ticket_ids(&self, helpdesk: &Helpdesk, limit: i64) -> StoreResult<Vec<String>>;
}

/// Open the store named by `url`: `sqlite://path` (created if missing) or `sqlite::memory:`.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, max_connections).await?,
        ))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH",
            url.split(':').next().unwrap_or_default()
        )
    }
}
