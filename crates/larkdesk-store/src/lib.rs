//! Storage: one [`Store`] trait, implemented per backend. The backend is chosen by the database
//! URL scheme ([`connect`]); each backend has its own migrations under `migrations/<backend>`.

mod common;
mod models;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::TicketEvent;
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

pub use models::*;
pub use postgres::PostgresStore;
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
    /// The event log refuses the change (an invalid lifecycle transition).
    #[error("rejected: {0}")]
    Rejected(String),
    /// Stored data failed to decode: a bug or a hand-edited database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            // PostgreSQL refuses NUL characters in text (22021) and `\u0000` in JSONB (22P05)
            // where SQLite stores them: that is input this backend cannot store, not an outage.
            // (SQLite reports numeric result codes, so this never matches there.)
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Self::BadInput("text must not contain NUL characters".to_owned());
            }
        }
        Self::Backend(err)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// `total` of `GET /tickets` stops counting here, and paging stops here, as on Feishu.
pub const LIST_CAP: i64 = 10_000;

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

    async fn user(&self, tenant_id: i64, open_id: &str) -> StoreResult<UserRecord>;
    async fn user_by_row_id(&self, id: i64) -> StoreResult<UserRecord>;

    /// Store a ticket given as a ready-made snapshot (imports, demo data): its log starts with
    /// an `Imported` event. People it names that the tenant's directory does not know yet are
    /// added with the profile given; known people keep their directory profile. All or nothing.
    async fn insert_ticket(&self, helpdesk: &Helpdesk, ticket: &Ticket) -> StoreResult<()>;
    /// Create a ticket from its first events (a `Created` event first).
    async fn create_ticket(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        chat_id: &str,
        events: &[TicketEvent],
    ) -> StoreResult<Ticket>;
    /// Create many tickets in one transaction, without pushing events (bulk loads).
    async fn create_tickets(&self, helpdesk: &Helpdesk, batch: &[NewTicket]) -> StoreResult<()>;
    /// After a bulk load: refresh the query planner's statistics, and write the load out. Until
    /// PostgreSQL's autovacuum gets to a freshly loaded table, its planner believes it nearly
    /// empty and sorts every match of a list filter (seconds at a million tickets) instead of
    /// walking an index. A [`Workload::BulkLoad`] store has not flushed its commits; after this
    /// they are on disk.
    async fn finish_bulk_load(&self) -> StoreResult<()>;
    /// How many [`Store::create_tickets`] batches a bulk load should write at once. SQLite
    /// has one writer, so more would only wait for its lock; PostgreSQL writes each in its own
    /// server process, so one per core keeps them busy.
    fn bulk_load_jobs(&self) -> usize {
        1
    }
    /// Append events to a ticket's log and update its projection in one transaction.
    /// `Rejected` when the lifecycle refuses an event (nothing is written then).
    async fn append_ticket_events(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        events: &[TicketEvent],
    ) -> StoreResult<Ticket>;
    /// A ticket of this helpdesk; `NotFound` for other helpdesks' tickets.
    async fn ticket(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Ticket>;
    async fn ticket_events(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Vec<TicketEvent>>;
    /// `(total capped at 10,000, page)`, newest first. A `known_total` (the caller counted the
    /// same filter before, with nothing written since) skips counting: at a million tickets the
    /// count is most of a list's cost.
    async fn list_tickets(
        &self,
        helpdesk: &Helpdesk,
        filter: &TicketFilter,
        known_total: Option<i64>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<Ticket>)>;
    /// Messages of a ticket in time order, optionally within an inclusive ms range.
    async fn list_messages(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TicketMessage>)>;
    /// The message a `ticket_message.created` event id refers to, with its public ticket id.
    async fn message_by_event_id(
        &self,
        helpdesk: &Helpdesk,
        event_id: &str,
    ) -> StoreResult<(i64, StoredMessage)>;
    /// Recompute every projection from the event log.
    async fn rebuild_projections(&self) -> StoreResult<RebuildReport>;

    /// Tag ids for names, creating tags that do not exist yet: `(id, name)` pairs.
    async fn tags_for_names(
        &self,
        helpdesk: &Helpdesk,
        names: &[String],
    ) -> StoreResult<Vec<(String, String)>>;

    async fn put_image(
        &self,
        message_id: &str,
        index: i64,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()>;
    /// `(content_type, bytes)` of an image of a message of this ticket.
    async fn image(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        message_id: &str,
        index: i64,
    ) -> StoreResult<(String, Vec<u8>)>;

    async fn record_bot_message(&self, helpdesk: &Helpdesk, message: &BotMessage) -> StoreResult<()>;

    async fn create_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<TicketCustomizedField>;
    /// Fields in creation order after `after_row` (a page token), at most `limit`, optionally
    /// only visible ones. Returns the page and the row id of its last item.
    async fn list_fields(
        &self,
        helpdesk: &Helpdesk,
        visible: Option<bool>,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, TicketCustomizedField)>>;
    async fn update_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn delete_field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<()>;

    /// Set (or with `None` clear) where an app receives events.
    async fn set_event_settings(&self, app_row_id: i64, settings: Option<&EventSettings>) -> StoreResult<()>;
    async fn event_settings(&self, app_row_id: i64) -> StoreResult<Option<EventSettings>>;
    /// Subscribe an app to event types of a helpdesk (idempotent).
    async fn subscribe_events(
        &self,
        app_row_id: i64,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()>;
    async fn unsubscribe_events(
        &self,
        app_row_id: i64,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()>;
    /// Claim up to `limit` pending deliveries due at `now_ms` for `lease_ms`; claimed rows are
    /// not handed out again until the lease runs out.
    async fn claim_deliveries(&self, now_ms: i64, lease_ms: i64, limit: i64) -> StoreResult<Vec<Delivery>>;
    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// The newest deliveries first, optionally of one app (public app_id).
    async fn deliveries(&self, app_id: Option<&str>, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
}

/// What a store's connections are set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workload {
    /// The server: every commit is durable; SQLite keeps its default 2 MiB page cache per
    /// connection, so memory does not grow with the database.
    #[default]
    Serving,
    /// One writer loading generated tickets (`larkdesk admin generate-tickets`): commits are not
    /// flushed to disk (SQLite `synchronous = OFF`, PostgreSQL `synchronous_commit = off`) and
    /// SQLite gets a 512 MiB page cache and in-memory statement journals. A crash of the
    /// machine (not of larkdesk) during such a load can lose or, on SQLite, corrupt it: never
    /// use it for data that matters.
    BulkLoad,
}

/// A bulk load's multi-row inserts and its closing ANALYZE and checkpoint take seconds by design,
/// so sqlx's "slow statement" warning (which prints the whole statement, tens of KiB of SQL)
/// is only a debug line there.
pub(crate) const BULK_SLOW_STATEMENT: std::time::Duration = std::time::Duration::from_secs(1);
pub(crate) const BULK_SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

/// Open the store named by `url`: `sqlite://path` (created if missing), `sqlite::memory:`, or
/// `postgres://…` / `postgresql://…` (the database must exist; its schema is migrated). Every
/// backend pools at most `max_connections` connections.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    connect_for(url, max_connections, Workload::Serving).await
}

/// [`connect`], with the connections set up for `workload`.
pub async fn connect_for(
    url: &str,
    max_connections: u32,
    workload: Workload,
) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, max_connections, workload).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStore::connect(url, max_connections, workload).await?,
        ))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            url.split(':').next().unwrap_or_default()
        )
    }
}
