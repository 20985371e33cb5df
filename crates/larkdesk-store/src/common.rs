//! What the backends share: pure helpers (JSON columns, the message rows a log implies, event
//! time clamping, people handling) and row decoding written once against [`Columns`].
//!
//! SQL stays in each backend; everything here must behave the same whatever stored the row.

use std::collections::HashMap;

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::{Actor, EventKind, ImportedTicket, TicketEvent};
use larkdesk_domain::{ids, lifecycle};
use larkdesk_wire::fields::TicketCustomizedField;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

use crate::{App, AppType, Helpdesk, NewTicket, StoreError, StoreResult, StoredMessage, Tenant, UserRecord};

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Map a UNIQUE violation to `Conflict`, everything else as `?` would.
pub(crate) fn conflict_or(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::from(err),
    }
}

pub(crate) fn not_found(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        other => StoreError::from(other),
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

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(raw: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types always serialize")
}

/// Typed access to a result row's columns by name, so that rows are decoded by one piece of
/// code for every backend. Backends select the columns under these names; JSON columns come as
/// text, flags as booleans whatever the backend stores.
pub(crate) trait Columns {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn float(&self, col: &str) -> StoreResult<f64>;
    fn flag(&self, col: &str) -> StoreResult<bool>;
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>>;
}

fn hash_column(row: &impl Columns, col: &str) -> StoreResult<SecretHash> {
    let bytes = row.bytes(col)?;
    SecretHash::from_slice(&bytes).ok_or_else(|| StoreError::Corrupt(format!("{col} is not a digest")))
}

pub(crate) fn tenant_from_row(row: &impl Columns) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: row.int("id")?,
        tenant_key: row.text("tenant_key")?,
        name: row.text("name")?,
    })
}

pub(crate) fn app_from_row(row: &impl Columns) -> StoreResult<App> {
    let app_type = row.text("app_type")?;
    let scopes = row.text("scopes")?;
    Ok(App {
        id: row.int("id")?,
        app_id: row.text("app_id")?,
        tenant_id: row.int("tenant_id")?,
        name: row.text("name")?,
        app_type: AppType::parse(&app_type)
            .ok_or_else(|| StoreError::Corrupt(format!("app_type {app_type}")))?,
        scopes: json_column(&scopes, "scopes")?,
        secret_hash: hash_column(row, "secret_hash")?,
    })
}

pub(crate) fn helpdesk_from_row(row: &impl Columns) -> StoreResult<Helpdesk> {
    Ok(Helpdesk {
        id: row.int("id")?,
        helpdesk_id: row.text("helpdesk_id")?,
        tenant_id: row.int("tenant_id")?,
        name: row.text("name")?,
        token_hash: hash_column(row, "token_hash")?,
    })
}

pub(crate) const USER_COLUMNS: &str = "open_id, name, avatar_url, email, department, city, country, is_agent";

pub(crate) fn user_record(row: &impl Columns) -> StoreResult<UserRecord> {
    let (user, is_agent) = user_from_row(row)?;
    Ok(UserRecord {
        id: row.int("id")?,
        tenant_id: row.int("tenant_id")?,
        user,
        is_agent,
    })
}

pub(crate) fn user_from_row(row: &impl Columns) -> StoreResult<(TicketUser, bool)> {
    Ok((
        TicketUser {
            id: row.text("open_id")?,
            name: row.text("name")?,
            avatar_url: row.text("avatar_url")?,
            email: row.text("email")?,
            department: row.text("department")?,
            city: row.text("city")?,
            country: row.text("country")?,
        },
        row.flag("is_agent")?,
    ))
}

/// How a user write treats an existing directory entry.
#[derive(Clone, Copy)]
pub(crate) enum OnExisting {
    /// The directory is being edited: take the new profile.
    Overwrite,
    /// A ticket merely names the person: keep the directory's profile.
    Keep,
}

/// The people an imported ticket names, in the order they are written to the directory, with
/// whether they are agents there (agents and the owner are; guest, collaborators and closer
/// are not).
pub(crate) fn import_people(t: &Ticket) -> impl Iterator<Item = (&TicketUser, bool)> {
    let agents = t.agents.iter().chain(t.agent_owner.as_ref()).map(|u| (u, true));
    let others = std::iter::once(&t.guest)
        .chain(&t.collaborators)
        .chain(t.closed_by.as_ref())
        .map(|u| (u, false));
    agents.chain(others)
}

/// The public ticket id of an imported ticket.
pub(crate) fn import_ticket_id(t: &Ticket) -> StoreResult<i64> {
    t.ticket_id
        .parse()
        .map_err(|_| StoreError::BadInput("ticket_id must be digits".into()))
}

/// The first event of an imported ticket. People are kept by id only: the directory owns their
/// profiles.
pub(crate) fn imported_event(t: &Ticket) -> TicketEvent {
    TicketEvent {
        at_ms: t.updated_at.max(t.created_at),
        actor: Actor::System,
        kind: EventKind::Imported {
            snapshot: Box::new(ImportedTicket::from(t)),
        },
    }
}

pub(crate) fn person(id: &str) -> TicketUser {
    TicketUser {
        id: id.to_owned(),
        ..Default::default()
    }
}

/// The JSON array of the ids of `users`, as the id-list columns hold them.
pub(crate) fn ids_json(users: &[TicketUser]) -> String {
    to_json(&users.iter().map(|u| &u.id).collect::<Vec<_>>())
}

/// A ticket row as a `Ticket` whose people carry only their ids.
pub(crate) fn row_projection(row: &impl Columns, helpdesk_public_id: &str) -> StoreResult<Ticket> {
    let ids = |col: &str| -> StoreResult<Vec<TicketUser>> {
        let raw = row.text(col)?;
        let ids: Vec<String> = json_column(&raw, col)?;
        Ok(ids.iter().map(|id| person(id)).collect())
    };
    let ticket_id = row.int("ticket_id")?;
    Ok(Ticket {
        ticket_id: ticket_id.to_string(),
        helpdesk_id: helpdesk_public_id.to_owned(),
        guest: person(&row.text("guest_id")?),
        comments: row
            .opt_text("comments")?
            .map(|s| json_column(&s, "comments"))
            .transpose()?,
        ticket_type: row.int("ticket_type")?,
        status: row.int("status")?,
        score: row.int("score")?,
        created_at: row.int("created_at")?,
        updated_at: row.opt_int("updated_at")?.unwrap_or(-1),
        closed_at: row.int("closed_at")?,
        dissatisfaction_reason: row
            .opt_text("dissatisfaction_reason")?
            .map(|s| json_column(&s, "dissatisfaction_reason"))
            .transpose()?,
        agents: ids("agent_ids")?,
        channel: row.int("channel")?,
        solve: row.int("solve")?,
        closed_by: row.opt_text("closed_by_id")?.map(|id| person(&id)),
        collaborators: ids("collaborator_ids")?,
        customized_fields: json_column(&row.text("customized_fields")?, "customized_fields")?,
        agent_service_duration: row.float("agent_service_duration")?,
        agent_first_response_duration: row.int("agent_first_response_duration")?,
        bot_service_duration: row.int("bot_service_duration")?,
        agent_resolution_time: row.int("agent_resolution_time")?,
        actual_processing_time: row.int("actual_processing_time")?,
        agent_entry_time: row.int("agent_entry_time")?,
        agent_first_response_time: row.int("agent_first_response_time")?,
        agent_last_response_time: row.int("agent_last_response_time")?,
        agent_owner: row.opt_text("agent_owner_id")?.map(|id| person(&id)),
        tags: json_column(&row.text("tags")?, "tags")?,
    })
}

/// The projected columns of a ticket row, in the order the backends' `push_projection` binds
/// them (for `UPDATE tickets SET (…) = (…)` and the bulk `INSERT`).
pub(crate) const PROJECTION_COLUMNS: &str = "guest_id, comments, ticket_type, status, score, created_at,
    updated_at, closed_at, dissatisfaction_reason, agent_ids, channel, solve, closed_by_id,
    collaborator_ids, customized_fields, agent_service_duration, agent_first_response_duration,
    bot_service_duration, agent_resolution_time, actual_processing_time, agent_entry_time,
    agent_first_response_time, agent_last_response_time, agent_owner_id, tags";

/// Rows per multi-row `INSERT`: comfortably under SQLite's 32,766 and PostgreSQL's 65,535 bind
/// parameters for the widest row (a ticket: 28 columns).
pub(crate) const ROWS_PER_INSERT: usize = 1000;

/// One ticket's log to append: (ticket row id, seq of its first event, the events).
pub(crate) type LogAppend<'a> = (i64, usize, &'a [TicketEvent]);

/// The rows of `ticket_events` for `logs`: (ticket row, seq, at_ms, event JSON).
pub(crate) fn event_rows(logs: &[LogAppend<'_>]) -> Vec<(i64, i64, i64, String)> {
    logs.iter()
        .flat_map(|&(ticket_row, first_seq, events)| {
            events
                .iter()
                .enumerate()
                .map(move |(i, e)| (ticket_row, (first_seq + i) as i64, e.at_ms, to_json(e)))
        })
        .collect()
}

/// The rest of a bulk load once its ticket rows exist (`row_ids`: ticket id -> row id): every
/// ticket's whole log and all their messages.
pub(crate) fn bulk_logs_and_messages<'a>(
    batch: &'a [NewTicket],
    row_ids: &HashMap<i64, i64>,
) -> StoreResult<(Vec<LogAppend<'a>>, Vec<StoredMessage>)> {
    let mut logs = Vec::with_capacity(batch.len());
    let mut messages = Vec::new();
    for t in batch {
        let row = *row_ids.get(&t.ticket_id).ok_or(StoreError::NotFound)?;
        logs.push((row, 1, t.events.as_slice()));
        messages.extend(messages_of(row, &t.events));
    }
    Ok((logs, messages))
}

/// The message rows a log implies, in order.
pub(crate) fn messages_of(ticket_row: i64, events: &[TicketEvent]) -> Vec<StoredMessage> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                sender,
                sender_id,
                message_id,
                msg_type,
                content,
            } => Some(StoredMessage {
                ticket_id: ticket_row,
                event_id: ids::message_event_id(message_id),
                message_id: message_id.clone(),
                msg_type: msg_type.clone(),
                content: content.clone(),
                sender_type: sender.code(),
                sender_id: sender_id.clone(),
                created_at: e.at_ms,
                position: 0,
            }),
            _ => None,
        })
        .enumerate()
        .map(|(i, m)| StoredMessage {
            position: i as i64 + 1,
            ..m
        })
        .collect()
}

/// Whether the stored `(message_id, position)` rows of a ticket, by position, are the ones its
/// log implies.
pub(crate) fn messages_match(stored: &[(String, i64)], implied: &[StoredMessage]) -> bool {
    stored.len() == implied.len()
        && stored
            .iter()
            .zip(implied)
            .all(|((id, pos), m)| *id == m.message_id && *pos == m.position)
}

pub(crate) fn stored_message_from_row(row: &impl Columns) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        ticket_id: row.int("ticket_id")?,
        message_id: row.text("message_id")?,
        event_id: row.text("event_id")?,
        msg_type: row.text("msg_type")?,
        content: row.text("content")?,
        sender_type: row.int("sender_type")?,
        sender_id: row.text("sender_id")?,
        created_at: row.int("created_at")?,
        position: row.int("position")?,
    })
}

/// A row of the `list_messages` query.
pub(crate) fn ticket_message_from_row(row: &impl Columns) -> StoreResult<TicketMessage> {
    let message_id = row.text("message_id")?;
    Ok(TicketMessage {
        // The same id the ticket_message.created event carries as `ticket_message_id`.
        id: larkdesk_domain::ids::stable_numeric_id(&message_id).to_string(),
        message_id,
        message_type: row.text("msg_type")?,
        created_at: row.int("created_at")?,
        content: row.text("content")?,
        user_name: row.text("user_name")?,
        avatar_url: row.text("avatar_url")?,
        user_id: row.text("sender_id")?,
    })
}

pub(crate) fn project(ticket_id: i64, helpdesk: &str, events: &[TicketEvent]) -> StoreResult<Ticket> {
    lifecycle::project(&ticket_id.to_string(), helpdesk, events)
        .map_err(|e| StoreError::Rejected(e.to_string()))
}

/// The log is in commit order. A request stamped just before a concurrent one that committed
/// first takes that one's time, so the log never runs backwards: every event from `already` on
/// is moved up to the latest time before it.
pub(crate) fn clamp_new_event_times(events: &mut [TicketEvent], already: usize) {
    let mut latest = events[..already]
        .iter()
        .map(|e| e.at_ms)
        .max()
        .unwrap_or(i64::MIN);
    for event in &mut events[already..] {
        event.at_ms = event.at_ms.max(latest);
        latest = event.at_ms;
    }
}

/// The open_ids of everyone `tickets` name, sorted and without repeats.
pub(crate) fn people_named(tickets: &[Ticket]) -> Vec<String> {
    let mut wanted: Vec<&str> = Vec::new();
    for t in tickets {
        wanted.push(&t.guest.id);
        for u in t
            .agents
            .iter()
            .chain(&t.collaborators)
            .chain(&t.closed_by)
            .chain(&t.agent_owner)
        {
            wanted.push(&u.id);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    wanted.into_iter().map(str::to_owned).collect()
}

/// A ticket from the rows of a ticket-with-people query: the ticket's columns, repeated on each
/// row, and on each the profile of one person it names (NULL where the directory has none).
/// No rows: no such ticket.
pub(crate) fn ticket_with_people<R: Columns>(rows: &[R], helpdesk_id: &str) -> StoreResult<Ticket> {
    let first = rows.first().ok_or(StoreError::NotFound)?;
    let mut ticket = row_projection(first, helpdesk_id)?;
    fill_people_from(&profiles_by_id(rows)?, std::slice::from_mut(&mut ticket));
    Ok(ticket)
}

/// Directory profiles by open_id from rows holding [`USER_COLUMNS`]; a row whose `open_id` is
/// NULL (a LEFT JOIN that found nobody) holds none.
pub(crate) fn profiles_by_id<R: Columns>(rows: &[R]) -> StoreResult<HashMap<String, TicketUser>> {
    let mut people = HashMap::with_capacity(rows.len());
    for row in rows {
        if row.opt_text("open_id")?.is_some() {
            let (user, _) = user_from_row(row)?;
            people.insert(user.id.clone(), user);
        }
    }
    Ok(people)
}

/// Replace every person `tickets` name by their directory profile. A person missing from the
/// directory still shows with their id.
pub(crate) fn fill_people_from(people: &HashMap<String, TicketUser>, tickets: &mut [Ticket]) {
    let fill = |u: &mut TicketUser| {
        if let Some(p) = people.get(&u.id) {
            *u = p.clone();
        }
    };
    for t in tickets.iter_mut() {
        fill(&mut t.guest);
        t.agents
            .iter_mut()
            .chain(&mut t.collaborators)
            .chain(&mut t.closed_by)
            .chain(&mut t.agent_owner)
            .for_each(fill);
    }
}

pub(crate) fn field_from_row(row: &impl Columns, helpdesk_id: &str) -> StoreResult<TicketCustomizedField> {
    let options = row.opt_text("dropdown_options")?;
    let person = |col: &str| -> StoreResult<TicketUser> {
        Ok(TicketUser {
            id: row.text(col)?,
            ..Default::default()
        })
    };
    Ok(TicketCustomizedField {
        ticket_customized_field_id: row.text("field_id")?,
        helpdesk_id: helpdesk_id.to_owned(),
        key_name: row.text("key_name")?,
        display_name: row.text("display_name")?,
        position: row.text("position")?,
        field_type: row.text("field_type")?,
        description: row.text("description")?,
        visible: row.flag("visible")?,
        editable: row.flag("editable")?,
        required: row.flag("required")?,
        created_at: row.int("created_at")?.to_string(),
        updated_at: row.int("updated_at")?.to_string(),
        created_by: person("created_by")?,
        updated_by: person("updated_by")?,
        dropdown_allow_multiple: row.flag("dropdown_allow_multiple")?,
        dropdown_options: options.map(|o| json_column(&o, "dropdown_options")).transpose()?,
    })
}

/// An app that receives a helpdesk's events of one type.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub app_row_id: i64,
    pub app_id: String,
    pub verification_token: String,
    pub tenant_key: String,
    pub event_type: String,
}

/// A row to write into the outbox.
#[derive(Debug, Clone)]
pub(crate) struct OutboxEntry {
    pub event_id: String,
    pub app_row_id: i64,
    pub event_type: String,
    pub body: String,
}

/// The envelopes a change sends, one per notification and subscribed app, stamped `at_ms`.
pub(crate) fn outbox_entries(
    subscribers: &[Subscriber],
    notifications: &[larkdesk_domain::notify::Notification],
    at_ms: i64,
) -> Vec<OutboxEntry> {
    let mut out = Vec::new();
    for note in notifications {
        for sub in subscribers.iter().filter(|s| s.event_type == note.event_type) {
            let event_id = ids::new_event_id();
            let envelope = larkdesk_wire::events::EventEnvelope {
                schema: "2.0",
                header: larkdesk_wire::events::EventHeader {
                    event_id: event_id.clone(),
                    event_type: note.event_type.to_owned(),
                    create_time: at_ms.to_string(),
                    token: sub.verification_token.clone(),
                    app_id: sub.app_id.clone(),
                    tenant_key: sub.tenant_key.clone(),
                },
                event: &note.body,
            };
            out.push(OutboxEntry {
                event_id,
                app_row_id: sub.app_row_id,
                event_type: note.event_type.to_owned(),
                body: to_json(&envelope),
            });
        }
    }
    out
}

pub(crate) fn delivery_record_from_row(row: &impl Columns) -> StoreResult<crate::DeliveryRecord> {
    Ok(crate::DeliveryRecord {
        event_id: row.text("event_id")?,
        app_id: row.text("public_app_id")?,
        event_type: row.text("event_type")?,
        status: row.text("status")?,
        attempts: row.int("attempts")?,
        created_at: row.int("created_at")?,
        next_attempt_at: row.int("next_attempt_at")?,
        delivered_at: row.int("delivered_at")?,
        last_error: row.text("last_error")?,
    })
}

pub(crate) fn delivery_from_row(row: &impl Columns) -> StoreResult<crate::Delivery> {
    Ok(crate::Delivery {
        id: row.int("id")?,
        event_id: row.text("event_id")?,
        app_row_id: row.int("app_id")?,
        event_type: row.text("event_type")?,
        body: row.text("body")?,
        attempts: row.int("attempts")?,
    })
}

/// Versions sqlx has recorded as applied; none on a new database (the table does not exist yet).
pub(crate) const APPLIED_MIGRATIONS: &str = "SELECT version FROM _sqlx_migrations WHERE success";

/// The migrations of `migrator` not among `applied`, as "0006 tickets keyed by ticket id".
pub(crate) fn pending_migrations(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<String> {
    migrator
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect()
}

/// Run `migrate` (the backend's migrator on its pool), saying first which migrations an
/// existing database is about to get: one may rewrite its largest tables (0006 on SQLite took
/// four minutes at a million tickets), and a server that says nothing until then looks hung.
/// A new database gets its whole schema in a moment and is not announced. `applied`: the
/// backend's pool running [`APPLIED_MIGRATIONS`] (it fails on a new database: nothing applied).
pub(crate) async fn run_migrations(
    migrator: &sqlx::migrate::Migrator,
    applied: impl std::future::Future<Output = Result<Vec<i64>, sqlx::Error>>,
    migrate: impl std::future::Future<Output = Result<(), sqlx::migrate::MigrateError>>,
) -> anyhow::Result<()> {
    let applied = applied.await.unwrap_or_default();
    let pending = pending_migrations(migrator, &applied);
    let announce = !applied.is_empty() && !pending.is_empty();
    if announce {
        tracing::info!(
            migrations = %pending.join(", "),
            "upgrading the database schema; on a large database this can take minutes (README: Upgrading)"
        );
    }
    let started = std::time::Instant::now();
    migrate.await?;
    if announce {
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "database schema upgraded"
        );
    }
    Ok(())
}

#[cfg(test)]
mod migration_tests {
    use super::pending_migrations;

    #[test]
    fn pending_migrations_are_the_ones_not_applied_with_their_names() {
        let sqlite = sqlx::migrate!("./migrations/sqlite");
        assert_eq!(
            pending_migrations(&sqlite, &[1, 2, 3, 4, 5]),
            ["0006 tickets keyed by ticket id"]
        );
        let all: Vec<i64> = sqlite.iter().map(|m| m.version).collect();
        assert!(pending_migrations(&sqlite, &all).is_empty());
        assert_eq!(pending_migrations(&sqlite, &[]).len(), all.len());
    }
}
