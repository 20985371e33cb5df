//! [`SqlStore`]: every query, written once for SQLite and PostgreSQL (see `backend.rs` for how,
//! `dialect.rs` for what differs). One file per resource; this one holds the console's entities.

mod agents;
mod categories;
mod events;
mod faqs;
mod fields;
mod notifications;
mod snapshot;
mod tickets;

pub use snapshot::SnapshotRows;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::ids::{AppRowId, TenantRowId, UserRowId};
use larkdesk_wire::ticket::TicketUser;
use sqlx::Pool;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{Arg, Backend, Columns, On, Row, Writer, sql};
use crate::direct::Direct;
use crate::profile_cache::ProfileCache;
use crate::rows::{self, USER_COLUMNS, to_json};
use crate::{
    AccountStore, App, Helpdesk, NewApp, NewHelpdesk, StoreError, StoreResult, Tenant, TicketSummary,
    UserRecord, WireProfile, Workload,
};

/// The store on a SQL database `DB` (`sqlx::Sqlite` or `sqlx::Postgres`).
pub struct SqlStore<DB: Backend> {
    /// Reads.
    pool: Pool<DB>,
    /// Writes (see [`Dialect::open`](crate::dialect::Dialect::open) and [`crate::direct`]).
    writer: Writer<DB>,
    max_connections: u32,
    /// SQLite point reads without sqlx's thread hand-offs ([`crate::direct`]).
    direct: Option<Arc<Direct>>,
    /// Statements whose text is built from the dialect, built once.
    statements: std::sync::Arc<tickets::Statements>,
    /// Profiles writes read, for the next write (see [`crate::profile_cache`]).
    profiles: Arc<ProfileCache>,
    /// [`TicketStore::ticket_set_version`].
    ticket_set: Arc<AtomicU64>,
}

impl<DB: Backend> SqlStore<DB> {
    /// Where a read of bounded cost runs (one key's rows, or a few index ranges of at most
    /// [`LIST_CAP`] entries, not a scan): on a SQLite file, on this thread through a direct
    /// reader; otherwise through the read pool.
    pub(crate) fn bounded_reads(&self) -> On<'_, DB> {
        match &self.direct {
            Some(direct) => On::Reader(direct),
            None => On::Pool(&self.pool),
        }
    }

    /// A read of one key's few rows, where [`SqlStore::bounded_reads`] run: on a SQLite file,
    /// on this thread through a direct reader (no hand-off to sqlx's connection thread per
    /// statement and row); otherwise through the read pool.
    pub(crate) async fn point_read(&self, query: &str, args: [Arg<'_>; 3]) -> StoreResult<Vec<Row<DB>>> {
        args.into_iter()
            .fold(sql(query), |q, arg| q.bind(arg))
            .fetch_all(self.bounded_reads())
            .await
    }

    /// Open (and migrate) the database at `url`.
    pub(crate) async fn open(url: &str, max_connections: u32, workload: Workload) -> anyhow::Result<Self> {
        let pools = DB::open(url, max_connections, workload).await?;
        Ok(Self {
            pool: pools.readers,
            writer: Writer {
                pool: pools.writer,
                direct: pools.direct.clone(),
            },
            max_connections,
            direct: pools.direct,
            statements: tickets::Statements::new::<DB>(),
            profiles: Arc::default(),
            ticket_set: Arc::default(),
        })
    }
}

/// Tables that snapshots of earlier versions hold and this one no longer has. Their rows were
/// derived from other tables, so a restore passes over them: `ticket_renders` (renders live in
/// ticket rows since migration 0014; a ticket restored without one is read from its projection
/// until its next change or `rebuild-projections`).
pub const DROPPED_TABLES: &[&str] = &["ticket_renders"];

/// Every table [`AccountStore::reset`] empties, each after the tables that reference it.
/// `server_secrets` is not among them: the admin token and the signing key survive a reset. A new
/// table belongs here (the `ops` integration test compares this list with the schema).
pub const RESET_ORDER: &[&str] = &[
    "ticket_images",
    "ticket_messages",
    "ticket_events",
    "tickets",
    "faq_images",
    "faqs",
    "faq_categories",
    "agent_skill_members",
    "agent_skills",
    "helpdesk_agents",
    "routing_queue",
    "tags",
    "ticket_customized_fields",
    "bot_messages",
    "notifications",
    "event_subscriptions",
    "event_outbox",
    "app_event_settings",
    "issued_tokens",
    "users",
    "helpdesks",
    "apps",
    "tenants",
];

/// Map a UNIQUE violation to `Conflict`, everything else as `?` would.
pub(crate) fn conflict_or(what: &str) -> impl FnOnce(StoreError) -> StoreError + '_ {
    move |err| match &err {
        StoreError::Backend(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_owned())
        }
        _ => err,
    }
}

/// `NotFound` when a write touched no row.
pub(crate) fn found(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Insert or update a user. A directory edit (`overwrite`) takes the new profile; a ticket that
/// merely names the person keeps the directory's. Once an agent, always an agent.
pub(crate) async fn upsert_user<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    tenant: TenantRowId,
    user: &TicketUser,
    is_agent: bool,
    overwrite: bool,
) -> StoreResult<()> {
    let profile = if overwrite {
        "name = excluded.name, avatar_url = excluded.avatar_url, email = excluded.email,
         department = excluded.department, city = excluded.city, country = excluded.country,"
    } else {
        ""
    };
    sql(format!(
        "INSERT INTO users (tenant_id, open_id, name, avatar_url, email, department, city, country, is_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, open_id) DO UPDATE SET {profile}
           is_agent = users.is_agent OR excluded.is_agent"
    ))
    .bind(tenant)
    .bind(&user.id)
    .bind(&user.name)
    .bind(&user.avatar_url)
    .bind(&user.email)
    .bind(&user.department)
    .bind(&user.city)
    .bind(&user.country)
    .bind(is_agent)
    .execute(on)
    .await?;
    Ok(())
}

#[async_trait]
impl<DB: Backend> AccountStore for SqlStore<DB> {
    async fn secret_or_init(&self, name: &str, init: Vec<u8>) -> StoreResult<Vec<u8>> {
        // A concurrent first insert makes this one wait for its commit (PostgreSQL) or the
        // write lock (SQLite) and then do nothing, so the read below sees the one value every
        // instance agrees on.
        sql("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(init.as_slice())
            .execute(&self.writer)
            .await?;
        self.secret(name).await?.ok_or(StoreError::NotFound)
    }

    async fn set_secret(&self, name: &str, value: Vec<u8>) -> StoreResult<()> {
        sql("INSERT INTO server_secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind(name)
        .bind(value.as_slice())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sql("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.bytes("value")).transpose()
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let row = sql("SELECT count(*) AS n FROM tenants")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.int("n")? == 0)
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let rows = sql(crate::dialect::APPLIED_MIGRATIONS)
            .fetch_all(&self.pool)
            .await?;
        let applied = rows
            .iter()
            .map(|r| r.int("version"))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(crate::dialect::pending_migrations(&DB::migrator(), &applied))
    }

    fn pool_usage(&self) -> Vec<crate::PoolUsage> {
        let sqlx_pool = |pool: &'static str, p: &Pool<DB>| crate::PoolUsage {
            pool,
            open: p.size(),
            idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
        };
        let mut usage = vec![
            sqlx_pool("reads", &self.pool),
            sqlx_pool("writes", &self.writer.pool),
        ];
        if let Some(direct) = &self.direct {
            let (open, idle) = direct.readers();
            usage.push(crate::PoolUsage {
                pool: "direct_reads",
                open,
                idle,
            });
        }
        usage
    }

    fn sqlite_writes(&self) -> Option<crate::SqliteWrites> {
        self.direct.as_ref().map(|direct| direct.write_counts())
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sql("SELECT id, tenant_key, name FROM tenants ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Tenant {
                    id: TenantRowId(r.int("id")?),
                    tenant_key: r.text("tenant_key")?,
                    name: r.text("name")?,
                })
            })
            .collect()
    }

    async fn apps(&self) -> StoreResult<Vec<App>> {
        let rows = sql(format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::app).collect()
    }

    async fn helpdesks(&self) -> StoreResult<Vec<Helpdesk>> {
        let rows = sql("SELECT id, helpdesk_id, tenant_id, name, token_hash FROM helpdesks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::helpdesk).collect()
    }

    async fn ticket_summaries(&self, limit: i64) -> StoreResult<Vec<TicketSummary>> {
        let rows = sql(
            "SELECT t.ticket_id, h.helpdesk_id, t.status, t.created_at, t.updated_at
             FROM tickets t JOIN helpdesks h ON h.id = t.helpdesk_id
             ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TicketSummary {
                    ticket_id: r.int("ticket_id")?.to_string(),
                    helpdesk_id: r.text("helpdesk_id")?,
                    status: r.int("status")?,
                    created_at: r.int("created_at")?,
                    updated_at: r.opt_int("updated_at")?,
                })
            })
            .collect()
    }

    async fn reset(&self) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // Children before parents: the foreign keys hold at every statement.
        for table in RESET_ORDER {
            sql(format!("DELETE FROM {table}")).execute(&mut tx).await?;
        }
        let committed = tx.commit().await;
        self.ticket_set.fetch_add(1, Ordering::Release);
        committed?;
        // Row ids of tenants can come again, at directory version 0.
        self.profiles.clear();
        Ok(())
    }

    async fn snapshot(&self) -> StoreResult<Vec<(String, SnapshotRows)>> {
        self.snapshot_tables().await
    }

    async fn restore(&self, tables: &[(String, SnapshotRows)]) -> StoreResult<()> {
        let restored = self.restore_tables(tables).await;
        // Whatever happened, the directory may hold other profiles at versions seen before, and
        // other tickets.
        self.profiles.clear();
        self.ticket_set.fetch_add(1, Ordering::Release);
        restored
    }

    async fn create_tenant(&self, tenant_key: &str, name: &str) -> StoreResult<Tenant> {
        let row = sql("INSERT INTO tenants (tenant_key, name, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(tenant_key)
            .bind(name)
            .bind(now_ms())
            .fetch_one(&self.writer)
            .await
            .map_err(conflict_or("tenant_key already exists"))?;
        Ok(Tenant {
            id: TenantRowId(row.int("id")?),
            tenant_key: tenant_key.to_owned(),
            name: name.to_owned(),
        })
    }

    async fn tenant_by_key(&self, tenant_key: &str) -> StoreResult<Tenant> {
        let row = sql("SELECT id, tenant_key, name FROM tenants WHERE tenant_key = $1")
            .bind(tenant_key)
            .fetch_one(&self.pool)
            .await?;
        rows::tenant(&row)
    }

    async fn tenant_by_id(&self, id: TenantRowId) -> StoreResult<Tenant> {
        let row = sql("SELECT id, tenant_key, name FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        rows::tenant(&row)
    }

    async fn create_app(&self, new: NewApp) -> StoreResult<App> {
        let row = sql(
            "INSERT INTO apps (app_id, tenant_id, name, app_type, scopes, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.app_id)
        .bind(new.tenant_id)
        .bind(&new.name)
        .bind(new.app_type.as_str())
        .bind(to_json(&new.scopes))
        .bind(&new.secret_hash.0[..])
        .bind(now_ms())
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("app_id already exists"))?;
        Ok(App {
            id: AppRowId(row.int("id")?),
            app_id: new.app_id,
            tenant_id: new.tenant_id,
            name: new.name,
            app_type: new.app_type,
            scopes: new.scopes,
            secret_hash: new.secret_hash,
            wire_profile: WireProfile::Docs,
        })
    }

    async fn app_by_app_id(&self, app_id: &str) -> StoreResult<App> {
        let row = sql(format!("SELECT {APP_COLUMNS} FROM apps WHERE app_id = $1"))
            .bind(app_id)
            .fetch_one(&self.pool)
            .await?;
        rows::app(&row)
    }

    async fn app_by_row_id(&self, id: AppRowId) -> StoreResult<App> {
        let row = sql(format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        rows::app(&row)
    }

    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()> {
        let changed = sql("UPDATE apps SET secret_hash = $1 WHERE app_id = $2")
            .bind(&secret_hash.0[..])
            .bind(app_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }

    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()> {
        let changed = sql("UPDATE apps SET scopes = $1 WHERE app_id = $2")
            .bind(to_json(&scopes))
            .bind(app_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }

    async fn set_app_wire_profile(&self, app_id: &str, profile: WireProfile) -> StoreResult<()> {
        let changed = sql("UPDATE apps SET wire_profile = $1 WHERE app_id = $2")
            .bind(profile.as_str())
            .bind(app_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }

    async fn current_token(&self, app: AppRowId, kind: &str) -> StoreResult<Option<(i64, i64)>> {
        let row =
            sql("SELECT issued_at_secs, expires_at_secs FROM issued_tokens WHERE app_id = $1 AND kind = $2")
                .bind(app)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.int("issued_at_secs")?, r.int("expires_at_secs")?)))
            .transpose()
    }

    async fn record_token(&self, app: AppRowId, kind: &str, issued: i64, expires: i64) -> StoreResult<()> {
        sql("INSERT INTO issued_tokens (app_id, kind, issued_at_secs, expires_at_secs) VALUES ($1, $2, $3, $4)
             ON CONFLICT (app_id, kind) DO UPDATE SET
               issued_at_secs = excluded.issued_at_secs, expires_at_secs = excluded.expires_at_secs
             WHERE excluded.expires_at_secs > issued_tokens.expires_at_secs")
        .bind(app)
        .bind(kind)
        .bind(issued)
        .bind(expires)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn create_helpdesk(&self, new: NewHelpdesk) -> StoreResult<Helpdesk> {
        let row = sql(
            "INSERT INTO helpdesks (helpdesk_id, tenant_id, name, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.helpdesk_id)
        .bind(new.tenant_id)
        .bind(&new.name)
        .bind(&new.token_hash.0[..])
        .bind(now_ms())
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("helpdesk_id already exists"))?;
        Ok(Helpdesk {
            id: larkdesk_domain::ids::HelpdeskRowId(row.int("id")?),
            helpdesk_id: new.helpdesk_id,
            tenant_id: new.tenant_id,
            name: new.name,
            token_hash: new.token_hash,
        })
    }

    async fn helpdesk_by_public_id(&self, helpdesk_id: &str) -> StoreResult<Helpdesk> {
        let row =
            sql("SELECT id, helpdesk_id, tenant_id, name, token_hash FROM helpdesks WHERE helpdesk_id = $1")
                .bind(helpdesk_id)
                .fetch_one(&self.pool)
                .await?;
        rows::helpdesk(&row)
    }

    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()> {
        let changed = sql("UPDATE helpdesks SET token_hash = $1 WHERE helpdesk_id = $2")
            .bind(&token_hash.0[..])
            .bind(helpdesk_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }

    async fn upsert_user(&self, tenant: TenantRowId, user: &TicketUser, is_agent: bool) -> StoreResult<()> {
        upsert_user(&self.writer, tenant, user, is_agent, true).await
    }

    async fn users(&self, tenant: TenantRowId) -> StoreResult<Vec<(TicketUser, bool)>> {
        let rows = sql(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::person).collect()
    }

    async fn user(&self, tenant: TenantRowId, open_id: &str) -> StoreResult<UserRecord> {
        let row = sql(format!(
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND open_id = $2"
        ))
        .bind(tenant)
        .bind(open_id)
        .fetch_one(&self.pool)
        .await?;
        rows::user_record(&row)
    }

    async fn user_by_row_id(&self, id: UserRowId) -> StoreResult<UserRecord> {
        let row = sql(format!(
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        rows::user_record(&row)
    }
}

const APP_COLUMNS: &str = "id, app_id, tenant_id, name, app_type, scopes, secret_hash, wire_profile";

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
