//! The server backend: PostgreSQL, for several larkdesk instances sharing one database.
//!
//! Behaves exactly like the SQLite backend. Where SQLite serializes writers with
//! `BEGIN IMMEDIATE`, transactions here lock the ticket row they change (`SELECT … FOR UPDATE`);
//! everything else is single statements whose `ON CONFLICT` clauses make them race-free.

mod fields;
mod tickets;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::TicketEvent;
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, PgPool, Row};

use crate::common::{
    Columns, OnExisting, USER_COLUMNS, app_from_row, conflict_or, delivery_from_row,
    delivery_record_from_row, found, helpdesk_from_row, import_people, import_ticket_id, imported_event,
    not_found, now_ms, tenant_from_row, to_json, user_from_row, user_record,
};
use crate::{
    App, BULK_SLOW_STATEMENT, BULK_SLOW_STATEMENT_LEVEL, BotMessage, Delivery, DeliveryOutcome,
    DeliveryRecord, EventSettings, FieldDefinition, Helpdesk, NewApp, NewHelpdesk, RebuildReport, Store,
    StoreError, StoreResult, StoredMessage, Tenant, TicketFilter, UserRecord, Workload,
};

pub struct PostgresStore {
    pool: PgPool,
}

impl Columns for PgRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn float(&self, col: &str) -> StoreResult<f64> {
        Ok(self.try_get(col)?)
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.try_get(col)?)
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(col)?)
    }
}

/// How long a request waits for a pooled connection before failing: a database that is down
/// fails requests fast instead of hanging them.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Key of the transaction-level advisory lock ticket imports take (see `insert_ticket`).
const IMPORT_LOCK: i64 = 0x6c61_726b_6465_736b; // "larkdesk"

impl PostgresStore {
    /// Connect to `postgres://…` (or `postgresql://…`) and bring the schema up to date. Several
    /// instances may start at once: sqlx serializes migrations with an advisory lock.
    pub async fn connect(url: &str, max_connections: u32, workload: Workload) -> anyhow::Result<Self> {
        // READ COMMITTED whatever the server's default: a statement that waited for a row lock
        // then sees what the holder committed (appends read the log after locking the ticket),
        // and ON CONFLICT clauses settle races quietly, where REPEATABLE READ or SERIALIZABLE
        // would fail those requests with serialization errors. (Set after the URL's own
        // `options`, so it wins; the backslash escapes the space for the server.)
        let options =
            PgConnectOptions::from_str(url)?.options([("default_transaction_isolation", r"read\ committed")]);
        let options = match workload {
            Workload::Serving => options,
            Workload::BulkLoad => options
                .log_slow_statements(BULK_SLOW_STATEMENT_LEVEL, BULK_SLOW_STATEMENT)
                .options([("synchronous_commit", "off")]),
        };
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        let migrator = sqlx::migrate!("./migrations/postgres");
        let applied = sqlx::query_scalar(crate::common::APPLIED_MIGRATIONS).fetch_all(&pool);
        crate::common::run_migrations(&migrator, applied, migrator.run(&pool)).await?;
        Ok(Self { pool })
    }
}

async fn upsert_user_in<'e, E>(
    executor: E,
    tenant_id: i64,
    user: &TicketUser,
    is_agent: bool,
    on_existing: OnExisting,
) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let update = match on_existing {
        OnExisting::Overwrite => {
            "name = excluded.name, avatar_url = excluded.avatar_url, email = excluded.email,
             department = excluded.department, city = excluded.city, country = excluded.country,"
        }
        OnExisting::Keep => "",
    };
    sqlx::query(&format!(
        "INSERT INTO users (tenant_id, open_id, name, avatar_url, email, department, city, country, is_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, open_id) DO UPDATE SET {update}
           is_agent = GREATEST(users.is_agent, excluded.is_agent)"
    ))
    .bind(tenant_id)
    .bind(&user.id)
    .bind(&user.name)
    .bind(&user.avatar_url)
    .bind(&user.email)
    .bind(&user.department)
    .bind(&user.city)
    .bind(&user.country)
    .bind(is_agent)
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn secret_or_init(&self, name: &str, init: Vec<u8>) -> StoreResult<Vec<u8>> {
        // A concurrent first insert makes this one wait for its commit and then do nothing, so
        // the read below sees the one value every instance agrees on.
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(init)
            .execute(&self.pool)
            .await?;
        self.secret(name).await?.ok_or(StoreError::NotFound)
    }

    async fn set_secret(&self, name: &str, value: Vec<u8>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
            .fetch_one(&self.pool)
            .await?;
        Ok(count == 0)
    }

    async fn create_tenant(&self, tenant_key: &str, name: &str) -> StoreResult<Tenant> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tenants (tenant_key, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(tenant_key)
        .bind(name)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict_or(e, "tenant_key already exists"))?;
        Ok(Tenant {
            id,
            tenant_key: tenant_key.to_owned(),
            name: name.to_owned(),
        })
    }

    async fn tenant_by_key(&self, tenant_key: &str) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT id, tenant_key, name FROM tenants WHERE tenant_key = $1")
            .bind(tenant_key)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        tenant_from_row(&row)
    }

    async fn tenant_by_id(&self, id: i64) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT id, tenant_key, name FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        tenant_from_row(&row)
    }

    async fn create_app(&self, new: NewApp) -> StoreResult<App> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO apps (app_id, tenant_id, name, app_type, scopes, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.app_id)
        .bind(new.tenant_id)
        .bind(&new.name)
        .bind(new.app_type.as_str())
        .bind(to_json(&new.scopes))
        .bind(new.secret_hash.0.to_vec())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict_or(e, "app_id already exists"))?;
        Ok(App {
            id,
            app_id: new.app_id,
            tenant_id: new.tenant_id,
            name: new.name,
            app_type: new.app_type,
            scopes: new.scopes,
            secret_hash: new.secret_hash,
        })
    }

    async fn app_by_app_id(&self, app_id: &str) -> StoreResult<App> {
        let row = sqlx::query("SELECT * FROM apps WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        app_from_row(&row)
    }

    async fn app_by_row_id(&self, id: i64) -> StoreResult<App> {
        let row = sqlx::query("SELECT * FROM apps WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        app_from_row(&row)
    }

    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()> {
        found(
            sqlx::query("UPDATE apps SET secret_hash = $1 WHERE app_id = $2")
                .bind(secret_hash.0.to_vec())
                .bind(app_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()> {
        found(
            sqlx::query("UPDATE apps SET scopes = $1 WHERE app_id = $2")
                .bind(to_json(&scopes))
                .bind(app_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn current_token(&self, app_row_id: i64, kind: &str) -> StoreResult<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT issued_at_secs, expires_at_secs FROM issued_tokens WHERE app_id = $1 AND kind = $2",
        )
        .bind(app_row_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn record_token(&self, app_row_id: i64, kind: &str, issued: i64, expires: i64) -> StoreResult<()> {
        // Keep the newest one when two instances mint at once.
        sqlx::query(
            "INSERT INTO issued_tokens (app_id, kind, issued_at_secs, expires_at_secs) VALUES ($1, $2, $3, $4)
             ON CONFLICT (app_id, kind) DO UPDATE SET
               issued_at_secs = excluded.issued_at_secs, expires_at_secs = excluded.expires_at_secs
             WHERE excluded.expires_at_secs > issued_tokens.expires_at_secs",
        )
        .bind(app_row_id)
        .bind(kind)
        .bind(issued)
        .bind(expires)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_helpdesk(&self, new: NewHelpdesk) -> StoreResult<Helpdesk> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO helpdesks (helpdesk_id, tenant_id, name, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.helpdesk_id)
        .bind(new.tenant_id)
        .bind(&new.name)
        .bind(new.token_hash.0.to_vec())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict_or(e, "helpdesk_id already exists"))?;
        Ok(Helpdesk {
            id,
            helpdesk_id: new.helpdesk_id,
            tenant_id: new.tenant_id,
            name: new.name,
            token_hash: new.token_hash,
        })
    }

    async fn helpdesk_by_public_id(&self, helpdesk_id: &str) -> StoreResult<Helpdesk> {
        let row = sqlx::query("SELECT * FROM helpdesks WHERE helpdesk_id = $1")
            .bind(helpdesk_id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        helpdesk_from_row(&row)
    }

    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()> {
        found(
            sqlx::query("UPDATE helpdesks SET token_hash = $1 WHERE helpdesk_id = $2")
                .bind(token_hash.0.to_vec())
                .bind(helpdesk_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn upsert_user(&self, tenant_id: i64, user: &TicketUser, is_agent: bool) -> StoreResult<()> {
        upsert_user_in(&self.pool, tenant_id, user, is_agent, OnExisting::Overwrite).await
    }

    async fn users(&self, tenant_id: i64) -> StoreResult<Vec<(TicketUser, bool)>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user(&self, tenant_id: i64, open_id: &str) -> StoreResult<UserRecord> {
        let row = sqlx::query(&format!(
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND open_id = $2"
        ))
        .bind(tenant_id)
        .bind(open_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        user_record(&row)
    }

    async fn user_by_row_id(&self, id: i64) -> StoreResult<UserRecord> {
        let row = sqlx::query(&format!(
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        user_record(&row)
    }

    /// One transaction, people and ticket, so a refused import leaves nothing behind.
    async fn insert_ticket(&self, helpdesk: &Helpdesk, t: &Ticket) -> StoreResult<()> {
        let ticket_id = import_ticket_id(t)?;
        let events = [imported_event(t)];
        let mut tx = self.pool.begin().await?;
        // Imports upsert several directory rows in the ticket's order; two concurrent imports
        // naming the same new people in another order would deadlock. Imports are rare (admin,
        // demo data), so they simply take turns, as every SQLite writer does.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        for (user, is_agent) in import_people(t) {
            upsert_user_in(&mut *tx, helpdesk.tenant_id, user, is_agent, OnExisting::Keep).await?;
        }
        tickets::create_ticket_in(&mut tx, helpdesk, ticket_id, "", &events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_ticket(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        chat_id: &str,
        events: &[TicketEvent],
    ) -> StoreResult<Ticket> {
        self.create_ticket_impl(helpdesk, ticket_id, chat_id, events)
            .await
    }

    async fn append_ticket_events(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        events: &[TicketEvent],
    ) -> StoreResult<Ticket> {
        self.append_events_impl(helpdesk, ticket_id, events).await
    }

    async fn ticket(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Ticket> {
        self.ticket_impl(helpdesk, ticket_id).await
    }

    async fn ticket_events(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Vec<TicketEvent>> {
        self.ticket_events_impl(helpdesk, ticket_id).await
    }

    async fn list_tickets(
        &self,
        helpdesk: &Helpdesk,
        filter: &TicketFilter,
        known_total: Option<i64>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<Ticket>)> {
        self.list_tickets_impl(helpdesk, filter, known_total, offset, limit)
            .await
    }

    async fn list_messages(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TicketMessage>)> {
        self.list_messages_impl(helpdesk, ticket_id, range_ms, offset, limit)
            .await
    }

    async fn message_by_event_id(
        &self,
        helpdesk: &Helpdesk,
        event_id: &str,
    ) -> StoreResult<(i64, StoredMessage)> {
        self.message_by_event_id_impl(helpdesk, event_id).await
    }

    async fn rebuild_projections(&self) -> StoreResult<RebuildReport> {
        self.rebuild_projections_impl().await
    }

    async fn tags_for_names(
        &self,
        helpdesk: &Helpdesk,
        names: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            sqlx::query(
                "INSERT INTO tags (helpdesk_id, tag_id, name) VALUES ($1, $2, $3)
                 ON CONFLICT (helpdesk_id, name) DO NOTHING",
            )
            .bind(helpdesk.id)
            .bind(larkdesk_domain::ids::new_numeric_id())
            .bind(name)
            .execute(&self.pool)
            .await?;
            let id: String =
                sqlx::query_scalar("SELECT tag_id FROM tags WHERE helpdesk_id = $1 AND name = $2")
                    .bind(helpdesk.id)
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
            out.push((id, name.clone()));
        }
        Ok(out)
    }

    async fn put_image(
        &self,
        message_id: &str,
        index: i64,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ticket_images (message_id, idx, content_type, bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(message_id)
        .bind(index)
        .bind(content_type)
        .bind(bytes)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_or(e, "image already stored"))?;
        Ok(())
    }

    async fn image(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        message_id: &str,
        index: i64,
    ) -> StoreResult<(String, Vec<u8>)> {
        sqlx::query_as(
            "SELECT i.content_type, i.bytes FROM ticket_images i
             JOIN ticket_messages m ON m.message_id = i.message_id
             JOIN tickets t ON t.id = m.ticket_id
             WHERE t.ticket_id = $1 AND t.helpdesk_id = $2 AND i.message_id = $3 AND i.idx = $4",
        )
        .bind(ticket_id)
        .bind(helpdesk.id)
        .bind(message_id)
        .bind(index)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn record_bot_message(&self, helpdesk: &Helpdesk, m: &BotMessage) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bot_messages (helpdesk_id, message_id, receiver_id, receive_type, msg_type, content, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(helpdesk.id)
        .bind(&m.message_id)
        .bind(&m.receiver_id)
        .bind(&m.receive_type)
        .bind(&m.msg_type)
        .bind(&m.content)
        .bind(m.at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        self.create_field_impl(helpdesk, field_id, def, by, at_ms).await
    }

    async fn field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<TicketCustomizedField> {
        self.field_impl(helpdesk, field_id).await
    }

    async fn list_fields(
        &self,
        helpdesk: &Helpdesk,
        visible: Option<bool>,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, TicketCustomizedField)>> {
        self.list_fields_impl(helpdesk, visible, after_row, limit).await
    }

    async fn update_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        self.update_field_impl(helpdesk, field_id, def, by, at_ms).await
    }

    async fn delete_field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<()> {
        found(
            sqlx::query("DELETE FROM ticket_customized_fields WHERE helpdesk_id = $1 AND field_id = $2")
                .bind(helpdesk.id)
                .bind(field_id)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn set_event_settings(&self, app_row_id: i64, settings: Option<&EventSettings>) -> StoreResult<()> {
        match settings {
            None => {
                sqlx::query("DELETE FROM app_event_settings WHERE app_id = $1")
                    .bind(app_row_id)
                    .execute(&self.pool)
                    .await?;
            }
            Some(s) => {
                sqlx::query(
                    "INSERT INTO app_event_settings (app_id, request_url, verification_token, encrypt_key)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (app_id) DO UPDATE SET request_url = excluded.request_url,
                       verification_token = excluded.verification_token, encrypt_key = excluded.encrypt_key",
                )
                .bind(app_row_id)
                .bind(&s.request_url)
                .bind(&s.verification_token)
                .bind(&s.encrypt_key)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    async fn event_settings(&self, app_row_id: i64) -> StoreResult<Option<EventSettings>> {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT request_url, verification_token, encrypt_key FROM app_event_settings WHERE app_id = $1",
        )
        .bind(app_row_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(request_url, verification_token, encrypt_key)| EventSettings {
                request_url,
                verification_token,
                encrypt_key,
            }),
        )
    }

    async fn subscribe_events(
        &self,
        app_row_id: i64,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for event_type in event_types {
            sqlx::query(
                "INSERT INTO event_subscriptions (app_id, helpdesk_id, event_type) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(app_row_id)
            .bind(helpdesk.id)
            .bind(*event_type)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn unsubscribe_events(
        &self,
        app_row_id: i64,
        helpdesk: &Helpdesk,
        event_types: &[&str],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for event_type in event_types {
            sqlx::query(
                "DELETE FROM event_subscriptions WHERE app_id = $1 AND helpdesk_id = $2 AND event_type = $3",
            )
            .bind(app_row_id)
            .bind(helpdesk.id)
            .bind(*event_type)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_deliveries(&self, now_ms: i64, lease_ms: i64, limit: i64) -> StoreResult<Vec<Delivery>> {
        // One statement: claiming is atomic, so two workers never take the same row.
        let rows = sqlx::query(
            "UPDATE event_outbox SET lease_until = $1
             WHERE id IN (SELECT id FROM event_outbox
                          WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_until <= $3
                          ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id, event_id, app_id, event_type, body, attempts",
        )
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(delivery_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
        let query = match outcome {
            DeliveryOutcome::Delivered { at_ms } => sqlx::query(
                "UPDATE event_outbox SET status = 'delivered', delivered_at = $1, lease_until = 0, last_error = ''
                 WHERE id = $2",
            )
            .bind(*at_ms)
            .bind(id),
            DeliveryOutcome::Retry { at_ms, error } => sqlx::query(
                "UPDATE event_outbox SET attempts = attempts + 1, next_attempt_at = $1, lease_until = 0,
                   last_error = $2 WHERE id = $3",
            )
            .bind(*at_ms)
            .bind(error.clone())
            .bind(id),
            DeliveryOutcome::Failed { error } => sqlx::query(
                "UPDATE event_outbox SET status = 'failed', attempts = attempts + 1, lease_until = 0,
                   last_error = $1 WHERE id = $2",
            )
            .bind(error.clone())
            .bind(id),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    async fn deliveries(&self, app_id: Option<&str>, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT o.event_id, a.app_id AS public_app_id, o.event_type, o.status, o.attempts, o.created_at,
                    o.next_attempt_at, o.delivered_at, o.last_error
             FROM event_outbox o JOIN apps a ON a.id = o.app_id
             WHERE $1::TEXT IS NULL OR a.app_id = $2
             ORDER BY o.id DESC LIMIT $3",
        )
        .bind(app_id)
        .bind(app_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_record_from_row).collect()
    }

    async fn create_tickets(&self, helpdesk: &Helpdesk, batch: &[crate::NewTicket]) -> StoreResult<()> {
        self.create_tickets_impl(helpdesk, batch).await
    }

    async fn finish_bulk_load(&self) -> StoreResult<()> {
        // VACUUM also sets the visibility map, which index-only scans (the list counts) need.
        // It cannot run in a transaction, hence the simple-query protocol. `users` too: a bulk
        // load adds its people, and GET ticket's plan depends on how many there are.
        sqlx::raw_sql("VACUUM (ANALYZE) tickets, ticket_events, ticket_messages, users")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn bulk_load_jobs(&self) -> usize {
        // The server usually shares the machine in a load (benchmarks, demos); a remote one
        // with more cores can be given more with `generate-tickets --jobs`.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores
            .min(self.pool.options().get_max_connections() as usize)
            .max(1)
    }
}
