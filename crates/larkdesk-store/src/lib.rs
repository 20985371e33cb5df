//! Storage: what larkdesk persists and loads, behind traits ([`Store`] and the per-resource
//! traits it is made of), implemented once over SQL ([`SqlStore`]) for SQLite and PostgreSQL.
//! The backend is chosen by the database URL scheme ([`connect`]); each has its own migrations
//! under `migrations/<backend>`, and what differs between them lives in `dialect.rs`.
//!
//! The store persists and loads; it makes no decisions. Which events a change appends, what
//! the ticket becomes and what is pushed to whom are decided by the service layer above it,
//! which then writes all of it through one [`TicketWrite`] transaction.

mod backend;
mod dialect;
mod direct;
mod log_writes;
mod models;
mod profile_cache;
mod rows;
mod sql;
mod sqlite_file;
mod wal_index;

use std::collections::HashMap;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::TicketEvent;
use larkdesk_domain::ids::{
    AppRowId, FaqId, HelpdeskRowId, NotificationId, TenantRowId, TicketId, UserRowId,
};
use larkdesk_domain::log::{Appended, LogMessage, LogState};
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

pub use models::*;
pub use rows::{fill_people, people_named};
pub use sql::{DROPPED_TABLES, RESET_ORDER, SnapshotRows, SqlStore};
pub use sqlite_file::secure_sqlite_file;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key is taken (what is said in the message).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's input cannot be stored (bad id shape, text PostgreSQL cannot hold).
    #[error("bad input: {0}")]
    BadInput(String),
    /// Stored data failed to decode: a bug or a hand-edited database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound,
            // PostgreSQL refuses NUL characters in text (22021) and `\u0000` in JSONB (22P05)
            // where SQLite stores them: that is input this backend cannot store, not an outage.
            // (SQLite reports numeric result codes, so this never matches there.)
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                Self::BadInput("text must not contain NUL characters".to_owned())
            }
            _ => Self::Backend(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// `total` of `GET /tickets` stops counting here, and paging stops here, as on Feishu.
pub const LIST_CAP: i64 = 10_000;

/// Everything larkdesk persists. Implementations must be safe to share between instances
/// pointing at the same database. Calling a method on a `dyn Store` needs its resource trait in
/// scope: `use larkdesk_store::prelude::*`.
/// People's directory profiles by open_id, read at one version of the tenant's directory.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    pub people: HashMap<String, TicketUser>,
    /// Bumped by every change to a stored profile (not by new people).
    pub directory_version: i64,
}

/// A ticket's `GET /tickets/:id` body (JSON of the wire `Ticket`, people filled from profiles
/// read at `directory_version`), kept in its row.
#[derive(Debug, Clone, Copy)]
pub struct Render<'a> {
    pub directory_version: i64,
    pub body: &'a str,
}

/// How many database connections a store holds, and how many of them are busy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// The name of the pool (`reads`, `writes`, `direct_reads`).
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
}

/// What a SQLite file's one writer has done since the server started (see `direct.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteWrites {
    /// Transactions committed, each holding one or more changes (a group commit).
    pub group_commits: u64,
    /// Changes committed in them.
    pub committed_changes: u64,
    /// Times the checkpointer held the writer for a last pass so that the write-ahead log
    /// starts again from its beginning.
    pub log_restarts: u64,
    /// How long it held the writer for those passes, all together: time writers waited.
    pub restart_hold: std::time::Duration,
}

pub trait Store:
    AccountStore
    + TicketStore
    + FieldStore
    + EventStore
    + AgentStore
    + CategoryStore
    + FaqStore
    + NotificationStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: AccountStore
        + TicketStore
        + FieldStore
        + EventStore
        + AgentStore
        + CategoryStore
        + FaqStore
        + NotificationStore
        + Send
        + Sync
        + 'static
{
}

/// The store traits, for `use larkdesk_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AccountStore, AgentStore, CategoryStore, EventStore, FaqStore, FieldStore, NotificationStore,
        NotificationWrite, Store, TicketStore, TicketWrite,
    };
}

/// Installation secrets and the console's entities: tenants, apps, helpdesks, the directory.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Read a named installation secret, creating it with `init` if it does not exist yet.
    /// Concurrent first calls from several instances agree on one value.
    async fn secret_or_init(&self, name: &str, init: Vec<u8>) -> StoreResult<Vec<u8>>;
    async fn set_secret(&self, name: &str, value: Vec<u8>) -> StoreResult<()>;
    async fn secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;

    /// True when no tenant exists yet (first start).
    async fn is_empty(&self) -> StoreResult<bool>;

    /// The migrations this build brings that the database has not applied, as "0006 tickets
    /// keyed by ticket id" (empty: up to date). Fails when the database cannot be reached.
    async fn pending_migrations(&self) -> StoreResult<Vec<String>>;
    /// The connection pools' sizes and idle connections, for metrics.
    fn pool_usage(&self) -> Vec<PoolUsage>;
    /// The SQLite writer's group commits and log restarts, for metrics; `None` on PostgreSQL.
    fn sqlite_writes(&self) -> Option<SqliteWrites>;

    /// Every tenant, app and helpdesk, oldest first (the admin lists).
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn apps(&self) -> StoreResult<Vec<App>>;
    async fn helpdesks(&self) -> StoreResult<Vec<Helpdesk>>;
    /// The newest `limit` tickets of every helpdesk, newest first.
    async fn ticket_summaries(&self, limit: i64) -> StoreResult<Vec<TicketSummary>>;

    /// Delete every tenant and everything under it (apps, helpdesks, users, tickets, FAQs, push
    /// jobs, deliveries, issued tokens), in one transaction. Installation secrets (the admin
    /// token, the token signing key) stay.
    async fn reset(&self) -> StoreResult<()>;
    /// Every row of every table of [`RESET_ORDER`], in that order, as JSON objects (column →
    /// value); installation secrets are not among them.
    async fn snapshot(&self) -> StoreResult<Vec<(String, SnapshotRows)>>;
    /// Replace every table of [`RESET_ORDER`] with these rows (a table not given ends empty),
    /// in one transaction. An unknown table or column, a value of the wrong type or rows the
    /// schema refuses are `BadInput`, and nothing changes.
    async fn restore(&self, tables: &[(String, SnapshotRows)]) -> StoreResult<()>;

    async fn create_tenant(&self, tenant_key: &str, name: &str) -> StoreResult<Tenant>;
    async fn tenant_by_key(&self, tenant_key: &str) -> StoreResult<Tenant>;
    async fn tenant_by_id(&self, id: TenantRowId) -> StoreResult<Tenant>;

    async fn create_app(&self, new: NewApp) -> StoreResult<App>;
    async fn app_by_app_id(&self, app_id: &str) -> StoreResult<App>;
    async fn app_by_row_id(&self, id: AppRowId) -> StoreResult<App>;
    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()>;
    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()>;
    async fn set_app_wire_profile(&self, app_id: &str, profile: WireProfile) -> StoreResult<()>;

    /// The newest token minted for an app and kind: `(issued_at_secs, expires_at_secs)`.
    async fn current_token(&self, app: AppRowId, kind: &str) -> StoreResult<Option<(i64, i64)>>;
    /// Record a minted token; of two minted at once, the one that expires last is kept.
    async fn record_token(&self, app: AppRowId, kind: &str, issued: i64, expires: i64) -> StoreResult<()>;

    async fn create_helpdesk(&self, new: NewHelpdesk) -> StoreResult<Helpdesk>;
    async fn helpdesk_by_public_id(&self, helpdesk_id: &str) -> StoreResult<Helpdesk>;
    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()>;

    /// Insert or update a user (keyed by tenant and open_id); once an agent, always an agent.
    async fn upsert_user(&self, tenant: TenantRowId, user: &TicketUser, is_agent: bool) -> StoreResult<()>;
    /// A tenant's directory in creation order, with who is an agent.
    async fn users(&self, tenant: TenantRowId) -> StoreResult<Vec<(TicketUser, bool)>>;
    async fn user(&self, tenant: TenantRowId, open_id: &str) -> StoreResult<UserRecord>;
    async fn user_by_row_id(&self, id: UserRowId) -> StoreResult<UserRecord>;
}

/// Tickets: their logs, projections and messages, and what hangs off them.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// A transaction that changes tickets (see [`TicketWrite`]).
    async fn begin_write(&self) -> StoreResult<Box<dyn TicketWrite>>;
    /// Counts this store's commits that added or removed tickets (creates, imports, reset,
    /// restore), bumped once each has committed. A count of a filter that
    /// [matches by creation only](TicketFilter::matches_by_creation_only), taken while this
    /// stayed the same, stays true until it moves (writes by other processes aside).
    fn ticket_set_version(&self) -> u64;
    /// A ticket of this helpdesk with its people's directory profiles; `NotFound` for other
    /// helpdesks' tickets.
    async fn ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Ticket>;
    /// The ticket as `GET /tickets/:id` shows it (JSON of the wire `Ticket`), rendered by the
    /// write that last changed it; `None` when there is no render or when a profile in the
    /// tenant's directory changed since (read [`TicketStore::ticket`] then).
    async fn rendered_ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Option<String>>;
    async fn ticket_events(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Vec<TicketEvent>>;
    /// `(total capped at 10,000, page)`, newest first (`created_at`, then `ticket_id`); the
    /// total is counted unless the request knows it.
    async fn list_tickets(
        &self,
        helpdesk: &Helpdesk,
        list: ListRequest<'_>,
    ) -> StoreResult<(i64, Vec<Ticket>)>;
    /// [`TicketStore::list_tickets`]'s total, and its page as each ticket's stored render (see
    /// [`TicketStore::rendered_ticket`]) when every ticket on it has a current one; `None` for
    /// the page otherwise (read [`TicketStore::list_tickets`] then).
    async fn list_ticket_renders(
        &self,
        helpdesk: &Helpdesk,
        list: ListRequest<'_>,
    ) -> StoreResult<(i64, Option<Vec<String>>)>;
    /// One page of a helpdesk's tickets, newest first (`created_at`, then `ticket_id`), of one
    /// status or all, starting after the position `before` (`(created_at, ticket_id)` of the
    /// last ticket of the previous page). Keyset paging on the `(helpdesk, [status,] created_at,
    /// ticket_id)` indexes: a page costs the same however deep it is, and nothing is counted.
    async fn ticket_page(
        &self,
        helpdesk: &Helpdesk,
        status: Option<i64>,
        before: Option<(i64, TicketId)>,
        limit: i64,
    ) -> StoreResult<Vec<Ticket>>;
    /// Messages of a ticket in time order, optionally within an inclusive ms range.
    async fn list_messages(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TicketMessage>)>;
    /// The message of ticket `id` that a `ticket_message.created` event id refers to (looked up
    /// among the ticket's messages: event ids have no index of their own).
    async fn message_by_event_id(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        event_id: &str,
    ) -> StoreResult<StoredMessage>;
    /// Every ticket, with its helpdesk's public id, in ticket id order.
    async fn all_tickets(&self) -> StoreResult<Vec<(TicketId, String)>>;

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
        id: TicketId,
        message_id: &str,
        index: i64,
    ) -> StoreResult<(String, Vec<u8>)>;
    async fn record_bot_message(&self, helpdesk: &Helpdesk, message: &BotMessage) -> StoreResult<()>;

    /// After a bulk load: refresh the query planner's statistics and write the load out. A
    /// [`Workload::BulkLoad`] store has not flushed its commits; after this they are on disk.
    async fn finish_bulk_load(&self) -> StoreResult<()>;
    /// How many bulk-load transactions to write at once: SQLite has one writer, PostgreSQL
    /// writes each in its own server process.
    fn bulk_load_jobs(&self) -> usize;
}

/// One transaction that changes tickets: the service reads what it needs, decides, and writes
/// the log, the projections and the outbox here; nothing is visible until [`TicketWrite::commit`],
/// and dropping it uncommitted writes nothing.
#[async_trait]
pub trait TicketWrite: Send {
    /// Lock a ticket of this helpdesk for the rest of the transaction and read its projection.
    async fn lock(&mut self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<LockedTicket>;
    /// The whole log of a locked ticket.
    async fn log(&mut self, id: TicketId) -> StoreResult<Vec<TicketEvent>>;
    /// Insert new tickets with their logs and messages (`Conflict` if an id is taken).
    async fn insert(&mut self, helpdesk: &Helpdesk, tickets: &[NewTicketRows<'_>]) -> StoreResult<()>;
    /// Write a change to a locked ticket: its new events, its projection with its `render` (in
    /// the same row update), its new messages. `stored_is_before`: the row holds
    /// `change.before` as it is (the change resumed from the stored projection), so only the
    /// columns that differ are written; otherwise all are.
    async fn append(
        &mut self,
        id: TicketId,
        change: &Appended,
        stored_is_before: bool,
        render: Render<'_>,
    ) -> StoreResult<()>;
    /// `(message_id, position)` of a locked ticket's stored messages, in order.
    async fn message_positions(&mut self, id: TicketId) -> StoreResult<Vec<(String, i64)>>;
    /// Replace a locked ticket's projection, kept state and all its messages.
    async fn replace(
        &mut self,
        id: TicketId,
        projection: &Ticket,
        state: &LogState,
        messages: &[LogMessage],
    ) -> StoreResult<()>;
    /// Add people to the directory; people it knows keep their profile (and agents stay agents).
    async fn add_people(&mut self, tenant: TenantRowId, people: &[(&TicketUser, bool)]) -> StoreResult<()>;
    /// Directory profiles of these people, by open_id (people it does not know are left out),
    /// and the directory's version they were read at (see [`TicketWrite::put_renders`]).
    async fn profiles(&mut self, tenant: TenantRowId, open_ids: &[String]) -> StoreResult<Profiles>;
    /// Keep tickets' `GET /tickets/:id` renders (JSON of the wire `Ticket`, people filled from
    /// profiles read at `directory_version`), replacing older ones.
    async fn put_renders(
        &mut self,
        helpdesk: &Helpdesk,
        directory_version: i64,
        renders: &[(TicketId, &str)],
    ) -> StoreResult<()>;
    /// Apps with event settings subscribed to this helpdesk's events.
    async fn subscribers(&mut self, helpdesk: HelpdeskRowId) -> StoreResult<Vec<Subscriber>>;
    async fn enqueue(&mut self, entries: &[OutboxEntry]) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Ticket customized field definitions.
#[async_trait]
pub trait FieldStore: Send + Sync {
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
    /// only visible ones. Returns the page with each field's row id.
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
}

/// Agents of a helpdesk as routing sees them (status, schedule, skills) and the routing queue.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Every agent of the helpdesk routing knows, in roster order.
    async fn agent_states(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<AgentState>>;
    async fn agent_state(&self, helpdesk: &Helpdesk, agent_id: &str) -> StoreResult<Option<AgentState>>;
    /// Set the status an agent chose (the agent joins the roster if new).
    async fn set_agent_status(&self, helpdesk: &Helpdesk, agent_id: &str, status: i64) -> StoreResult<()>;
    /// Set agents' schedules and, where given, their skills (replacing the skills they had),
    /// all in one transaction. A removed agent is back on the roster.
    async fn put_schedules(&self, helpdesk: &Helpdesk, schedules: &[ScheduleWrite<'_>]) -> StoreResult<()>;
    /// Delete an agent's schedule and skills: the agent is removed. `NotFound` if the agent has
    /// no schedule.
    async fn remove_schedule(&self, helpdesk: &Helpdesk, agent_id: &str) -> StoreResult<()>;
    async fn mark_routed(&self, helpdesk: &Helpdesk, agent_id: &str, at_ms: i64) -> StoreResult<()>;

    /// Create a skill with its agents (`Conflict` if the name is taken).
    async fn create_skill(&self, helpdesk: &Helpdesk, skill: &SkillRecord, at_ms: i64) -> StoreResult<()>;
    /// Every skill of the helpdesk in creation order.
    async fn skills(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<SkillRecord>>;
    async fn skill(&self, helpdesk: &Helpdesk, skill_id: &str) -> StoreResult<SkillRecord>;
    /// Replace a skill's name, rules and agents.
    async fn update_skill(&self, helpdesk: &Helpdesk, skill: &SkillRecord) -> StoreResult<()>;
    async fn delete_skill(&self, helpdesk: &Helpdesk, skill_id: &str) -> StoreResult<()>;

    /// Put a ticket in the routing queue (once; a ticket already queued keeps its place).
    async fn enqueue_ticket(&self, helpdesk: &Helpdesk, id: TicketId, at_ms: i64) -> StoreResult<()>;
    /// The queue, oldest first.
    async fn queued_tickets(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<TicketId>>;
    async fn dequeue_ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<()>;
    /// Public ids of the helpdesks with queued tickets.
    async fn helpdesks_with_queue(&self) -> StoreResult<Vec<String>>;
}

/// One agent's schedule to write.
#[derive(Debug, Clone)]
pub struct ScheduleWrite<'a> {
    pub agent_id: &'a str,
    pub schedule: &'a [larkdesk_wire::agents::WeekdaySchedule],
    /// `None` keeps the agent's skills.
    pub skill_ids: Option<&'a [String]>,
}

/// FAQ categories.
#[async_trait]
pub trait CategoryStore: Send + Sync {
    async fn create_category(&self, helpdesk: &Helpdesk, category: &CategoryRecord) -> StoreResult<()>;
    async fn category(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<CategoryRecord>;
    /// The helpdesk's categories in creation order.
    async fn categories(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<CategoryRecord>>;
    async fn update_category(
        &self,
        helpdesk: &Helpdesk,
        category_id: &str,
        name: &str,
        parent_id: &str,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn delete_category(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<()>;
    /// Whether FAQs are filed under the category (deleting it is then refused).
    async fn category_has_faqs(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<bool>;
}

/// FAQs, their images and their search.
#[async_trait]
pub trait FaqStore: Send + Sync {
    async fn create_faq(&self, helpdesk: &Helpdesk, id: FaqId, faq: &FaqWrite<'_>) -> StoreResult<()>;
    /// A FAQ of this helpdesk, whatever its status.
    async fn faq(&self, helpdesk: &Helpdesk, id: FaqId) -> StoreResult<StoredFaq>;
    /// Replace a FAQ's content (`NotFound` unless it has `status`).
    async fn update_faq(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        status: i64,
        faq: &FaqWrite<'_>,
    ) -> StoreResult<()>;
    /// Move a FAQ from status `from` to `to` (`NotFound` unless it has `from`).
    async fn set_faq_status(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        from: i64,
        to: i64,
        by: &str,
        at_secs: i64,
    ) -> StoreResult<()>;
    /// FAQs matching `filter` in storage order after `after_row`, at most `limit`.
    async fn list_faqs(
        &self,
        helpdesk: &Helpdesk,
        filter: &FaqFilter,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<StoredFaq>>;
    async fn count_faqs(&self, helpdesk: &Helpdesk, filter: &FaqFilter) -> StoreResult<i64>;
    /// FAQs with `status` whose search text holds any of `terms`, newest first, at most `limit`
    /// (search ranks them afterwards).
    async fn search_faqs(
        &self,
        helpdesk: &Helpdesk,
        status: i64,
        terms: &[String],
        limit: i64,
    ) -> StoreResult<Vec<StoredFaq>>;
    /// Store (or replace) an image of a FAQ.
    async fn put_faq_image(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        image_key: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()>;
    /// `(content_type, bytes)` of an image of a FAQ.
    async fn faq_image(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        image_key: &str,
    ) -> StoreResult<(String, Vec<u8>)>;
}

/// Push jobs.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn create_notification(
        &self,
        helpdesk: &Helpdesk,
        id: NotificationId,
        status: i64,
        job: &StoredJob,
    ) -> StoreResult<()>;
    /// A job of this helpdesk: `(status, job)`.
    async fn notification(&self, helpdesk: &Helpdesk, id: NotificationId) -> StoreResult<(i64, StoredJob)>;
    /// A transaction that changes push jobs (see [`NotificationWrite`]).
    async fn begin_notification_write(&self) -> StoreResult<Box<dyn NotificationWrite>>;
    /// Jobs with `status` whose `send_at` is at or before `now_ms`, oldest due first:
    /// `(helpdesk public id, job id)`.
    async fn due_notifications(
        &self,
        status: i64,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<(String, NotificationId)>>;
}

/// One transaction that changes a push job: lock it, decide, save it, with its events and bot
/// messages; nothing is visible until [`NotificationWrite::commit`].
#[async_trait]
pub trait NotificationWrite: Send {
    async fn lock(&mut self, helpdesk: &Helpdesk, id: NotificationId) -> StoreResult<LockedJob>;
    /// Write a locked job's status, due time and content.
    async fn save(
        &mut self,
        id: NotificationId,
        status: i64,
        send_at: Option<i64>,
        job: &StoredJob,
    ) -> StoreResult<()>;
    /// Apps with event settings subscribed to this helpdesk's events.
    async fn subscribers(&mut self, helpdesk: HelpdeskRowId) -> StoreResult<Vec<Subscriber>>;
    async fn enqueue(&mut self, entries: &[OutboxEntry]) -> StoreResult<()>;
    async fn record_bot_messages(
        &mut self,
        helpdesk: HelpdeskRowId,
        messages: &[BotMessage],
    ) -> StoreResult<()>;
    /// Take back bot messages (a recalled push).
    async fn delete_bot_messages(
        &mut self,
        helpdesk: HelpdeskRowId,
        message_ids: &[String],
    ) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Event settings, subscriptions and the delivery outbox.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Set (or with `None` clear) where an app receives events.
    async fn set_event_settings(&self, app: AppRowId, settings: Option<&EventSettings>) -> StoreResult<()>;
    async fn event_settings(&self, app: AppRowId) -> StoreResult<Option<EventSettings>>;
    /// Subscribe an app to event types of a helpdesk (idempotent).
    async fn subscribe_events(
        &self,
        app: AppRowId,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()>;
    async fn unsubscribe_events(
        &self,
        app: AppRowId,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()>;
    /// Claim up to `limit` pending deliveries due at `now_ms` for `lease_ms`; claimed rows are
    /// not handed out again until the lease runs out.
    async fn claim_deliveries(&self, now_ms: i64, lease_ms: i64, limit: i64) -> StoreResult<Vec<Delivery>>;
    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// Deliver a pending or failed event again as soon as a worker is free (`next_attempt_at =
    /// now_ms`, a failed one pending again, its attempts kept). `false` when no pending or failed
    /// delivery has this event id.
    async fn retry_delivery(&self, event_id: &str, now_ms: i64) -> StoreResult<bool>;
    /// The newest deliveries first, optionally of one app (public app_id).
    async fn deliveries(&self, app_id: Option<&str>, limit: i64) -> StoreResult<Vec<DeliveryRecord>>;
    /// Deliveries still to be made (pending, whether due or waiting to retry).
    async fn outbox_pending(&self) -> StoreResult<i64>;
}

/// What a store's connections are set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workload {
    /// The server: every commit is durable; SQLite keeps its default 2 MiB page cache per
    /// reader connection and 32 MiB for its one writer, so memory does not grow with the
    /// database (pages it maps from the file are the operating system's page cache).
    #[default]
    Serving,
    /// One writer loading generated tickets (`larkdesk admin generate-tickets`): commits are not
    /// flushed to disk (SQLite `synchronous = OFF`, PostgreSQL `synchronous_commit = off`) and
    /// SQLite gets a 512 MiB page cache and in-memory statement journals. A crash of the
    /// machine (not of larkdesk) during such a load can lose or, on SQLite, corrupt it: never
    /// use it for data that matters.
    BulkLoad,
}

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
            SqlStore::<sqlx::Sqlite>::open(url, max_connections, workload).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            SqlStore::<sqlx::Postgres>::open(url, max_connections, workload).await?,
        ))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            url.split(':').next().unwrap_or_default()
        )
    }
}
