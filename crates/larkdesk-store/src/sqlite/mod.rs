//! The embedded default backend: one SQLite file in WAL mode.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_wire::ticket::{Ticket, TicketUser};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use crate::{App, AppType, Helpdesk, NewApp, NewHelpdesk, Store, StoreError, StoreResult, Tenant};

pub struct SqliteStore {
    pool: SqlitePool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Map a UNIQUE violation to `Conflict`, everything else to `Backend`.
fn conflict_or(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Backend(err),
    }
}

fn not_found(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        other => StoreError::Backend(other),
    }
}

fn hash_column(row: &SqliteRow, col: &str) -> StoreResult<SecretHash> {
    let bytes: Vec<u8> = row.try_get(col)?;
    SecretHash::from_slice(&bytes).ok_or_else(|| StoreError::Corrupt(format!("{col} is not a digest")))
}

fn json_column<T: serde::de::DeserializeOwned>(raw: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types always serialize")
}

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    fn app_from_row(row: &SqliteRow) -> StoreResult<App> {
        let app_type: String = row.try_get("app_type")?;
        let scopes: String = row.try_get("scopes")?;
        Ok(App {
            id: row.try_get("id")?,
            app_id: row.try_get("app_id")?,
            tenant_id: row.try_get("tenant_id")?,
            name: row.try_get("name")?,
            app_type: AppType::parse(&app_type)
                .ok_or_else(|| StoreError::Corrupt(format!("app_type {app_type}")))?,
            scopes: json_column(&scopes, "scopes")?,
            secret_hash: hash_column(row, "secret_hash")?,
        })
    }

    fn helpdesk_from_row(row: &SqliteRow) -> StoreResult<Helpdesk> {
        Ok(Helpdesk {
            id: row.try_get("id")?,
            helpdesk_id: row.try_get("helpdesk_id")?,
            tenant_id: row.try_get("tenant_id")?,
            name: row.try_get("name")?,
            token_hash: hash_column(row, "token_hash")?,
        })
    }

    fn tenant_from_row(row: &SqliteRow) -> StoreResult<Tenant> {
        Ok(Tenant {
            id: row.try_get("id")?,
            tenant_key: row.try_get("tenant_key")?,
            name: row.try_get("name")?,
        })
    }
}

const USER_COLUMNS: &str = "open_id, name, avatar_url, email, department, city, country, is_agent";

fn user_from_row(row: &SqliteRow) -> StoreResult<(TicketUser, bool)> {
    Ok((
        TicketUser {
            id: row.try_get("open_id")?,
            name: row.try_get("name")?,
            avatar_url: row.try_get("avatar_url")?,
            email: row.try_get("email")?,
            department: row.try_get("department")?,
            city: row.try_get("city")?,
            country: row.try_get("country")?,
        },
        row.try_get::<i64, _>("is_agent")? != 0,
    ))
}

/// How a user write treats an existing directory entry.
#[derive(Clone, Copy)]
enum OnExisting {
    /// The directory is being edited: take the new profile.
    Overwrite,
    /// A ticket merely names the person: keep the directory's profile.
    Keep,
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
        Self::tenant_from_row(&row)
    }

    async fn tenant_by_id(&self, id: i64) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT id, tenant_key, name FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        Self::tenant_from_row(&row)
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
        Self::app_from_row(&row)
    }

    async fn app_by_row_id(&self, id: i64) -> StoreResult<App> {
        let row = sqlx::query("SELECT * FROM apps WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        Self::app_from_row(&row)
    }

    async fn set_app_secret(&self, app_id: &str, secret_hash: &SecretHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE apps SET secret_hash = ? WHERE app_id = ?")
            .bind(secret_hash.0.to_vec())
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn set_app_scopes(&self, app_id: &str, scopes: &[String]) -> StoreResult<()> {
        let done = sqlx::query("UPDATE apps SET scopes = ? WHERE app_id = ?")
            .bind(to_json(&scopes))
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
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
        Self::helpdesk_from_row(&row)
    }

    async fn set_helpdesk_token(&self, helpdesk_id: &str, token_hash: &SecretHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE helpdesks SET token_hash = ? WHERE helpdesk_id = ?")
            .bind(token_hash.0.to_vec())
            .bind(helpdesk_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
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

    async fn insert_ticket(&self, helpdesk: &Helpdesk, t: &Ticket) -> StoreResult<()> {
        let ticket_id: i64 = t
            .ticket_id
            .parse()
            .map_err(|_| StoreError::BadInput("ticket_id must be digits".into()))?;
        let mut tx = self.pool.begin().await?;
        let agents = t.agents.iter().chain(t.agent_owner.as_ref());
        for user in agents {
            upsert_user_in(&mut *tx, helpdesk.tenant_id, user, true, OnExisting::Keep).await?;
        }
        for user in std::iter::once(&t.guest)
            .chain(&t.collaborators)
            .chain(t.closed_by.as_ref())
        {
            upsert_user_in(&mut *tx, helpdesk.tenant_id, user, false, OnExisting::Keep).await?;
        }
        let ids = |users: &[TicketUser]| to_json(&users.iter().map(|u| &u.id).collect::<Vec<_>>());
        sqlx::query(
            "INSERT INTO tickets (ticket_id, helpdesk_id, guest_id, comments, ticket_type, status, score,
               created_at, updated_at, closed_at, dissatisfaction_reason, agent_ids, channel, solve,
               closed_by_id, collaborator_ids, customized_fields, agent_service_duration,
               agent_first_response_duration, bot_service_duration, agent_resolution_time,
               actual_processing_time, agent_entry_time, agent_first_response_time,
               agent_last_response_time, agent_owner_id, tags)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ticket_id)
        .bind(helpdesk.id)
        .bind(&t.guest.id)
        .bind(t.comments.as_ref().map(to_json))
        .bind(t.ticket_type)
        .bind(t.status)
        .bind(t.score)
        .bind(t.created_at)
        .bind((t.updated_at >= 0).then_some(t.updated_at))
        .bind(t.closed_at)
        .bind(t.dissatisfaction_reason.as_ref().map(to_json))
        .bind(ids(&t.agents))
        .bind(t.channel)
        .bind(t.solve)
        .bind(t.closed_by.as_ref().map(|u| &u.id))
        .bind(ids(&t.collaborators))
        .bind(to_json(&t.customized_fields))
        .bind(t.agent_service_duration)
        .bind(t.agent_first_response_duration)
        .bind(t.bot_service_duration)
        .bind(t.agent_resolution_time)
        .bind(t.actual_processing_time)
        .bind(t.agent_entry_time)
        .bind(t.agent_first_response_time)
        .bind(t.agent_last_response_time)
        .bind(t.agent_owner.as_ref().map(|u| &u.id))
        .bind(to_json(&t.tags))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, "ticket_id already exists"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn ticket(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Ticket> {
        let row = sqlx::query("SELECT * FROM tickets WHERE ticket_id = ? AND helpdesk_id = ?")
            .bind(ticket_id)
            .bind(helpdesk.id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;

        let agent_ids: Vec<String> = json_column(&row.try_get::<String, _>("agent_ids")?, "agent_ids")?;
        let collaborator_ids: Vec<String> =
            json_column(&row.try_get::<String, _>("collaborator_ids")?, "collaborator_ids")?;
        let guest_id: String = row.try_get("guest_id")?;
        let closed_by_id: Option<String> = row.try_get("closed_by_id")?;
        let agent_owner_id: Option<String> = row.try_get("agent_owner_id")?;

        let mut wanted: Vec<&String> = vec![&guest_id];
        wanted.extend(
            agent_ids
                .iter()
                .chain(&collaborator_ids)
                .chain(&closed_by_id)
                .chain(&agent_owner_id),
        );
        let people: HashMap<String, TicketUser> = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE tenant_id = ? AND open_id IN (SELECT value FROM json_each(?))"
        ))
        .bind(helpdesk.tenant_id)
        .bind(to_json(&wanted))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| user_from_row(r).map(|(u, _)| (u.id.clone(), u)))
        .collect::<StoreResult<_>>()?;
        // A person deleted from the directory still shows with their id, as Feishu does for leavers.
        let person = |id: &String| {
            people.get(id).cloned().unwrap_or_else(|| TicketUser {
                id: id.clone(),
                ..Default::default()
            })
        };

        let optional_json = |col: &str| -> StoreResult<Option<String>> { Ok(row.try_get(col)?) };
        Ok(Ticket {
            ticket_id: ticket_id.to_string(),
            helpdesk_id: helpdesk.helpdesk_id.clone(),
            guest: person(&guest_id),
            comments: optional_json("comments")?
                .map(|s| json_column(&s, "comments"))
                .transpose()?,
            ticket_type: row.try_get("ticket_type")?,
            status: row.try_get("status")?,
            score: row.try_get("score")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get::<Option<i64>, _>("updated_at")?.unwrap_or(-1),
            closed_at: row.try_get("closed_at")?,
            dissatisfaction_reason: optional_json("dissatisfaction_reason")?
                .map(|s| json_column(&s, "dissatisfaction_reason"))
                .transpose()?,
            agents: agent_ids.iter().map(person).collect(),
            channel: row.try_get("channel")?,
            solve: row.try_get("solve")?,
            closed_by: closed_by_id.as_ref().map(person),
            collaborators: collaborator_ids.iter().map(person).collect(),
            customized_fields: json_column(
                &row.try_get::<String, _>("customized_fields")?,
                "customized_fields",
            )?,
            agent_service_duration: row.try_get("agent_service_duration")?,
            agent_first_response_duration: row.try_get("agent_first_response_duration")?,
            bot_service_duration: row.try_get("bot_service_duration")?,
            agent_resolution_time: row.try_get("agent_resolution_time")?,
            actual_processing_time: row.try_get("actual_processing_time")?,
            agent_entry_time: row.try_get("agent_entry_time")?,
            agent_first_response_time: row.try_get("agent_first_response_time")?,
            agent_last_response_time: row.try_get("agent_last_response_time")?,
            agent_owner: agent_owner_id.as_ref().map(person),
            tags: json_column(&row.try_get::<String, _>("tags")?, "tags")?,
        })
    }

    async fn ticket_ids(&self, helpdesk: &Helpdesk, limit: i64) -> StoreResult<Vec<String>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM tickets WHERE helpdesk_id = ? ORDER BY created_at, id LIMIT ?",
        )
        .bind(helpdesk.id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(|id| id.to_string()).collect())
    }
}
