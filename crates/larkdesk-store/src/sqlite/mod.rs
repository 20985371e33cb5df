//! The embedded default backend: one SQLite file in WAL mode.

mod fields;
mod tickets;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::TicketEvent;
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, SqlitePool};

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

pub struct SqliteStore {
    pool: SqlitePool,
}

impl Columns for SqliteRow {
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
    /// Flags are INTEGER 0/1 here.
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.try_get::<i64, _>(col)? != 0)
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(col)?)
    }
}

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32, workload: Workload) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let options = match workload {
            Workload::Serving => options.synchronous(SqliteSynchronous::Normal),
            // A bulk load spends most of its time in fsync and in spilling its 2 MiB page cache
            // mid-transaction (2.5x faster at 100k tickets without either; BENCHMARKS.md).
            Workload::BulkLoad => options
                .log_slow_statements(BULK_SLOW_STATEMENT_LEVEL, BULK_SLOW_STATEMENT)
                .synchronous(SqliteSynchronous::Off)
                .pragma("cache_size", "-524288")
                .pragma("temp_store", "memory"),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            // A file connection cannot go stale the way a socket can, and sqlx's ping is a
            // round trip to the connection's thread on every acquire.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let migrator = sqlx::migrate!("./migrations/sqlite");
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
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, open_id) DO UPDATE SET {update}
           is_agent = max(users.is_agent, excluded.is_agent)"
    ))
    .bind(tenant_id)
    .bind(&user.id)
    .bind(&user.name)
    .bind(&user.avatar_url)
    .bind(&user.email)
    .bind(&user.department)
    .bind(&user.city)
    .bind(&user.country)
    .bind(is_agent as i64)
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn secret_or_init(&self, name: &str, init: Vec<u8>) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(init)
            .execute(&self.pool)
            .await?;
        self.secret(name).await?.ok_or(StoreError::NotFound)
    }

    async fn set_secret(&self, name: &str, value: Vec<u8>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES (?, ?)
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
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?")
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
            "INSERT INTO tenants (tenant_key, name, created_at) VALUES (?, ?, ?) RETURNING id",
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
        let row = sqlx::query("SELECT id, tenant_key, name FROM tenants WHERE tenant_key = ?")
            .bind(tenant_key)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        tenant_from_row(&row)
    }

    async fn tenant_by_id(&self, id: i64) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT id, tenant_key, name FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        tenant_from_row(&row)
    }

    async fn create_app(&self, new: NewApp) -> StoreResult<App> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO apps (app_id, tenant_id, name, app_type, scopes, secret_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        let row = sqlx::query("SELECT * FROM apps WHERE app_id = ?")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        app_from_row(&row)
    }

    async fn app_by_row_id(&self, id: i64) -> StoreResult<App> {
        let row = sqlx::query("SELECT * FROM apps WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        app_from_row(&row)
    }

    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE apps SET secret_hash = ? WHERE app_id = ?")
            .bind(secret_hash.0.to_vec())
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()> {
        let done = sqlx::query("UPDATE apps SET scopes = ? WHERE app_id = ?")
            .bind(to_json(&scopes))
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn current_token(&self, app_row_id: i64, kind: &str) -> StoreResult<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT issued_at_secs, expires_at_secs FROM issued_tokens WHERE app_id = ? AND kind = ?",
        )
        .bind(app_row_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn record_token(&self, app_row_id: i64, kind: &str, issued: i64, expires: i64) -> StoreResult<()> {
        // Keep the newest one when two instances mint at once.
        sqlx::query(
            "INSERT INTO issued_tokens (app_id, kind, issued_at_secs, expires_at_secs) VALUES (?, ?, ?, ?)
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
             VALUES (?, ?, ?, ?, ?) RETURNING id",
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
        let row = sqlx::query("SELECT * FROM helpdesks WHERE helpdesk_id = ?")
            .bind(helpdesk_id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        helpdesk_from_row(&row)
    }

    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE helpdesks SET token_hash = ? WHERE helpdesk_id = ?")
            .bind(token_hash.0.to_vec())
            .bind(helpdesk_id)
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn upsert_user(&self, tenant_id: i64, user: &TicketUser, is_agent: bool) -> StoreResult<()> {
        upsert_user_in(&self.pool, tenant_id, user, is_agent, OnExisting::Overwrite).await
    }

    async fn users(&self, tenant_id: i64) -> StoreResult<Vec<(TicketUser, bool)>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user(&self, tenant_id: i64, open_id: &str) -> StoreResult<UserRecord> {
        let row = sqlx::query(&format!(
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE tenant_id = ? AND open_id = ?"
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
            "SELECT id, tenant_id, {USER_COLUMNS} FROM users WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        user_record(&row)
    }

    async fn insert_ticket(&self, helpdesk: &Helpdesk, t: &Ticket) -> StoreResult<()> {
        let ticket_id = import_ticket_id(t)?;
        self.create_ticket_impl(
            helpdesk,
            ticket_id,
            "",
            &[imported_event(t)],
            &import_people(t).collect::<Vec<_>>(),
        )
        .await
        .map(drop)
    }

    async fn create_ticket(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        chat_id: &str,
        events: &[TicketEvent],
    ) -> StoreResult<Ticket> {
        self.create_ticket_impl(helpdesk, ticket_id, chat_id, events, &[])
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
            sqlx::query("INSERT INTO tags (helpdesk_id, tag_id, name) VALUES (?, ?, ?) ON CONFLICT (helpdesk_id, name) DO NOTHING")
                .bind(helpdesk.id)
                .bind(larkdesk_domain::ids::new_numeric_id())
                .bind(name)
                .execute(&self.pool)
                .await?;
            let id: String = sqlx::query_scalar("SELECT tag_id FROM tags WHERE helpdesk_id = ? AND name = ?")
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
        sqlx::query("INSERT INTO ticket_images (message_id, idx, content_type, bytes) VALUES (?, ?, ?, ?)")
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
             JOIN tickets t ON t.ticket_id = m.ticket_id
             WHERE t.ticket_id = ? AND t.helpdesk_id = ? AND i.message_id = ? AND i.idx = ?",
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
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        let done = sqlx::query("DELETE FROM ticket_customized_fields WHERE helpdesk_id = ? AND field_id = ?")
            .bind(helpdesk.id)
            .bind(field_id)
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    async fn set_event_settings(&self, app_row_id: i64, settings: Option<&EventSettings>) -> StoreResult<()> {
        match settings {
            None => {
                sqlx::query("DELETE FROM app_event_settings WHERE app_id = ?")
                    .bind(app_row_id)
                    .execute(&self.pool)
                    .await?;
            }
            Some(s) => {
                sqlx::query(
                    "INSERT INTO app_event_settings (app_id, request_url, verification_token, encrypt_key)
                     VALUES (?, ?, ?, ?)
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
            "SELECT request_url, verification_token, encrypt_key FROM app_event_settings WHERE app_id = ?",
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
                "INSERT INTO event_subscriptions (app_id, helpdesk_id, event_type) VALUES (?, ?, ?)
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
                "DELETE FROM event_subscriptions WHERE app_id = ? AND helpdesk_id = ? AND event_type = ?",
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
            "UPDATE event_outbox SET lease_until = ?
             WHERE id IN (SELECT id FROM event_outbox
                          WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
                          ORDER BY next_attempt_at, id LIMIT ?)
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
                "UPDATE event_outbox SET status = 'delivered', delivered_at = ?, lease_until = 0, last_error = ''
                 WHERE id = ?",
            )
            .bind(*at_ms)
            .bind(id),
            DeliveryOutcome::Retry { at_ms, error } => sqlx::query(
                "UPDATE event_outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_until = 0,
                   last_error = ? WHERE id = ?",
            )
            .bind(*at_ms)
            .bind(error.clone())
            .bind(id),
            DeliveryOutcome::Failed { error } => sqlx::query(
                "UPDATE event_outbox SET status = 'failed', attempts = attempts + 1, lease_until = 0,
                   last_error = ? WHERE id = ?",
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
             WHERE ? IS NULL OR a.app_id = ?
             ORDER BY o.id DESC LIMIT ?",
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
        // A sampled ANALYZE: seconds even at millions of rows. Then the WAL goes into the
        // database file and both are synced (`synchronous = FULL` makes the checkpoint sync):
        // a bulk load leaves gigabytes of dirty pages otherwise, which the kernel writes back
        // for minutes afterwards, while the server that opens the file next is being measured.
        sqlx::raw_sql(
            "PRAGMA analysis_limit = 1000; ANALYZE;
             PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
