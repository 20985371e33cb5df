//! Tickets on SQLite: the event log, the ticket projection, messages, list queries.

use std::collections::HashMap;
use std::sync::LazyLock;

use larkdesk_domain::events::TicketEvent;
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::common::{
    LogAppend, OnExisting, OutboxEntry, PROJECTION_COLUMNS, ROWS_PER_INSERT, Subscriber, USER_COLUMNS,
    bulk_logs_and_messages, clamp_new_event_times, conflict_or, event_rows, fill_people_from, ids_json,
    json_column, messages_match, messages_of, outbox_entries, people_named, project, row_projection,
    stored_message_from_row, ticket_message_from_row, ticket_with_people, to_json, user_from_row,
};
use crate::{
    Helpdesk, LIST_CAP, NewTicket, RebuildReport, StoreError, StoreResult, StoredMessage, TicketFilter,
};

/// A ticket row with the directory profiles of the people it names: the ticket's columns
/// repeated once per profile found, or one row with NULL profile columns when none is. `?1`
/// ticket_id, `?2` helpdesk row id, `?3` tenant row id. The people are the ones `people_named`
/// collects; SQLite looks each up in the users' unique index (tenant_id, open_id).
static TICKET_WITH_PEOPLE: LazyLock<String> = LazyLock::new(|| {
    let profile = USER_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT t.*, {profile}
         FROM tickets t
         LEFT JOIN users p ON p.tenant_id = ?3 AND p.open_id IN (
             SELECT t.guest_id UNION ALL SELECT t.closed_by_id UNION ALL SELECT t.agent_owner_id
             UNION ALL SELECT value FROM json_each(t.agent_ids)
             UNION ALL SELECT value FROM json_each(t.collaborator_ids)
         )
         WHERE t.ticket_id = ?1 AND t.helpdesk_id = ?2"
    )
});

/// Bind a ticket's projected columns, in the order of [`PROJECTION_COLUMNS`].
fn push_projection<'a>(values: &mut Separated<'_, 'a, Sqlite, &'static str>, t: &'a Ticket) {
    values
        .push_bind(&t.guest.id)
        .push_bind(t.comments.as_ref().map(to_json))
        .push_bind(t.ticket_type)
        .push_bind(t.status)
        .push_bind(t.score)
        .push_bind(t.created_at)
        .push_bind((t.updated_at >= 0).then_some(t.updated_at))
        .push_bind(t.closed_at)
        .push_bind(t.dissatisfaction_reason.as_ref().map(to_json))
        .push_bind(ids_json(&t.agents))
        .push_bind(t.channel)
        .push_bind(t.solve)
        .push_bind(t.closed_by.as_ref().map(|u| &u.id))
        .push_bind(ids_json(&t.collaborators))
        .push_bind(to_json(&t.customized_fields))
        .push_bind(t.agent_service_duration)
        .push_bind(t.agent_first_response_duration)
        .push_bind(t.bot_service_duration)
        .push_bind(t.agent_resolution_time)
        .push_bind(t.actual_processing_time)
        .push_bind(t.agent_entry_time)
        .push_bind(t.agent_first_response_time)
        .push_bind(t.agent_last_response_time)
        .push_bind(t.agent_owner.as_ref().map(|u| &u.id))
        .push_bind(to_json(&t.tags));
}

/// Write every projected column of a ticket row.
async fn write_projection(conn: &mut SqliteConnection, row_id: i64, t: &Ticket) -> StoreResult<()> {
    let mut update = QueryBuilder::<Sqlite>::new(format!("UPDATE tickets SET ({PROJECTION_COLUMNS}) = ("));
    push_projection(&mut update.separated(", "), t);
    update.push(") WHERE ticket_id = ").push_bind(row_id);
    update.build().execute(conn).await?;
    Ok(())
}

async fn insert_messages(conn: &mut SqliteConnection, messages: &[StoredMessage]) -> StoreResult<()> {
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new(
            "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type,
               sender_id, created_at, position) ",
        )
        .push_values(chunk, |mut row, m| {
            row.push_bind(m.ticket_id)
                .push_bind(&m.message_id)
                .push_bind(&m.event_id)
                .push_bind(&m.msg_type)
                .push_bind(&m.content)
                .push_bind(m.sender_type)
                .push_bind(&m.sender_id)
                .push_bind(m.created_at)
                .push_bind(m.position);
        })
        .build()
        .execute(&mut *conn)
        .await
        .map_err(|e| conflict_or(e, "message_id already exists"))?;
    }
    Ok(())
}

/// Insert ticket rows with their whole projection, each given as (ticket id, chat id,
/// projection). Returns each ticket id's row id: on SQLite the ticket id is the row id
/// (migration 0006), which the event log and messages point at.
async fn insert_tickets(
    conn: &mut SqliteConnection,
    helpdesk: &Helpdesk,
    rows: &[(i64, &str, &Ticket)],
) -> StoreResult<HashMap<i64, i64>> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO tickets (ticket_id, helpdesk_id, chat_id, {PROJECTION_COLUMNS}) "
        ))
        .push_values(chunk, |mut row, &(ticket_id, chat_id, t)| {
            row.push_bind(ticket_id).push_bind(helpdesk.id).push_bind(chat_id);
            push_projection(&mut row, t);
        })
        .build()
        .execute(&mut *conn)
        .await
        .map_err(|e| conflict_or(e, "ticket_id already exists"))?;
    }
    Ok(rows
        .iter()
        .map(|&(ticket_id, ..)| (ticket_id, ticket_id))
        .collect())
}

/// Append events to the logs of tickets.
async fn insert_events(conn: &mut SqliteConnection, logs: &[LogAppend<'_>]) -> StoreResult<()> {
    let rows = event_rows(logs);
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) ")
            .push_values(chunk, |mut row, (ticket_row, seq, at_ms, event)| {
                row.push_bind(*ticket_row)
                    .push_bind(*seq)
                    .push_bind(*at_ms)
                    .push_bind(event);
            })
            .build()
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn load_events(conn: &mut SqliteConnection, ticket_row: i64) -> StoreResult<Vec<TicketEvent>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT event FROM ticket_events WHERE ticket_id = ? ORDER BY seq")
            .bind(ticket_row)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|raw| json_column(raw, "ticket_events.event"))
        .collect()
}

/// Fill in directory profiles of everyone the tickets name, on this connection.
async fn fill_people_in(
    conn: &mut SqliteConnection,
    tenant_id: i64,
    tickets: &mut [Ticket],
) -> StoreResult<()> {
    let wanted = people_named(tickets);
    let people: HashMap<String, TicketUser> = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? AND open_id IN (SELECT value FROM json_each(?))"
    ))
    .bind(tenant_id)
    .bind(to_json(&wanted))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| user_from_row(r).map(|(u, _)| (u.id.clone(), u)))
    .collect::<StoreResult<_>>()?;
    fill_people_from(&people, tickets);
    Ok(())
}

/// Apps with event settings subscribed to this helpdesk's events.
async fn subscribers_in(conn: &mut SqliteConnection, helpdesk_row: i64) -> StoreResult<Vec<Subscriber>> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT a.id, a.app_id, s.verification_token, t.tenant_key, e.event_type
         FROM event_subscriptions e
         JOIN apps a ON a.id = e.app_id
         JOIN app_event_settings s ON s.app_id = a.id
         JOIN tenants t ON t.id = a.tenant_id
         WHERE e.helpdesk_id = ?",
    )
    .bind(helpdesk_row)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(app_row_id, app_id, verification_token, tenant_key, event_type)| Subscriber {
                app_row_id,
                app_id,
                verification_token,
                tenant_key,
                event_type,
            },
        )
        .collect())
}

async fn insert_outbox(conn: &mut SqliteConnection, entries: &[OutboxEntry], at_ms: i64) -> StoreResult<()> {
    for e in entries {
        sqlx::query(
            "INSERT INTO event_outbox (event_id, app_id, event_type, body, created_at, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.event_id)
        .bind(e.app_row_id)
        .bind(&e.event_type)
        .bind(&e.body)
        .bind(at_ms)
        .bind(at_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Queue the events a change sends to subscribed apps, in the change's transaction, and return
/// the ticket after the change with its people's profiles.
async fn finish_change(
    conn: &mut SqliteConnection,
    helpdesk: &Helpdesk,
    chat_id: &str,
    before: Option<Ticket>,
    after: Ticket,
    log: &[TicketEvent],
    appended: usize,
) -> StoreResult<Ticket> {
    let subscribers = subscribers_in(conn, helpdesk.id).await?;
    let mut tickets: Vec<Ticket> = before.into_iter().chain(std::iter::once(after)).collect();
    fill_people_in(conn, helpdesk.tenant_id, &mut tickets).await?;
    let after = tickets.pop().expect("the ticket after the change");
    if !subscribers.is_empty() {
        let notes = larkdesk_domain::notify::notifications(tickets.first(), &after, log, appended, chat_id);
        let at_ms = log.last().map_or(0, |e| e.at_ms);
        insert_outbox(conn, &outbox_entries(&subscribers, &notes, at_ms), at_ms).await?;
    }
    Ok(after)
}

/// Insert a ticket row, its log and its messages inside the caller's transaction. Returns the
/// projection (people by id only).
async fn create_ticket_in(
    conn: &mut SqliteConnection,
    helpdesk: &Helpdesk,
    ticket_id: i64,
    chat_id: &str,
    events: &[TicketEvent],
) -> StoreResult<Ticket> {
    let projected = project(ticket_id, &helpdesk.helpdesk_id, events)?;
    let row_ids = insert_tickets(conn, helpdesk, &[(ticket_id, chat_id, &projected)]).await?;
    let row_id = *row_ids.get(&ticket_id).ok_or(StoreError::NotFound)?;
    insert_events(conn, &[(row_id, 1, events)]).await?;
    insert_messages(conn, &messages_of(row_id, events)).await?;
    Ok(projected)
}

impl SqliteStore {
    /// Fill in directory profiles of everyone a ticket names.
    pub(super) async fn fill_people(&self, tenant_id: i64, tickets: &mut [Ticket]) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        fill_people_in(&mut conn, tenant_id, tickets).await
    }

    pub(super) async fn create_ticket_impl(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        chat_id: &str,
        events: &[TicketEvent],
        new_people: &[(&TicketUser, bool)],
    ) -> StoreResult<Ticket> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // People an import names join the directory in the same transaction: all or nothing.
        for (user, is_agent) in new_people {
            super::upsert_user_in(&mut *tx, helpdesk.tenant_id, user, *is_agent, OnExisting::Keep).await?;
        }
        let projected = create_ticket_in(&mut tx, helpdesk, ticket_id, chat_id, events).await?;
        let ticket = finish_change(&mut tx, helpdesk, chat_id, None, projected, events, events.len()).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// Many tickets in one transaction, without pushing events (a bulk load, like an import).
    /// Bulk load: a few multi-row statements per batch instead of a couple of dozen per ticket.
    pub(super) async fn create_tickets_impl(
        &self,
        helpdesk: &Helpdesk,
        batch: &[NewTicket],
    ) -> StoreResult<()> {
        let projected = batch
            .iter()
            .map(|t| project(t.ticket_id, &helpdesk.helpdesk_id, &t.events))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows: Vec<(i64, &str, &Ticket)> = batch
            .iter()
            .zip(&projected)
            .map(|(new, t)| (new.ticket_id, new.chat_id.as_str(), t))
            .collect();
        let row_ids = insert_tickets(&mut tx, helpdesk, &rows).await?;
        let (logs, messages) = bulk_logs_and_messages(batch, &row_ids)?;
        insert_events(&mut tx, &logs).await?;
        insert_messages(&mut tx, &messages).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Append events atomically: the write lock is taken first (`BEGIN IMMEDIATE`), so
    /// concurrent appends to one ticket serialize and none is lost.
    pub(super) async fn append_events_impl(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        new_events: &[TicketEvent],
    ) -> StoreResult<Ticket> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (row_id, chat_id): (i64, String) =
            sqlx::query_as("SELECT ticket_id, chat_id FROM tickets WHERE ticket_id = ? AND helpdesk_id = ?")
                .bind(ticket_id)
                .bind(helpdesk.id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let mut events = load_events(&mut tx, row_id).await?;
        let already = events.len();
        events.extend_from_slice(new_events);
        clamp_new_event_times(&mut events, already);
        let new_events = &events[already..];
        let projected = project(ticket_id, &helpdesk.helpdesk_id, &events)?;
        insert_events(&mut tx, &[(row_id, already + 1, new_events)]).await?;
        write_projection(&mut tx, row_id, &projected).await?;
        let messages = messages_of(row_id, &events);
        let before = messages_of(row_id, &events[..already]).len();
        insert_messages(&mut tx, &messages[before..]).await?;
        let previous = project(ticket_id, &helpdesk.helpdesk_id, &events[..already])?;
        let appended = events.len() - already;
        let ticket = finish_change(
            &mut tx,
            helpdesk,
            &chat_id,
            Some(previous),
            projected,
            &events,
            appended,
        )
        .await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// One statement (one hand-off to the connection's SQLite thread), however many people
    /// the ticket names: on one core those hand-offs, not SQLite, are most of an uncached GET.
    pub(super) async fn ticket_impl(&self, helpdesk: &Helpdesk, ticket_id: i64) -> StoreResult<Ticket> {
        let rows = sqlx::query(&TICKET_WITH_PEOPLE)
            .bind(ticket_id)
            .bind(helpdesk.id)
            .bind(helpdesk.tenant_id)
            .fetch_all(&self.pool)
            .await?;
        ticket_with_people(&rows, &helpdesk.helpdesk_id)
    }

    pub(super) async fn ticket_events_impl(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
    ) -> StoreResult<Vec<TicketEvent>> {
        let mut conn = self.pool.acquire().await?;
        let row_id: i64 =
            sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE ticket_id = ? AND helpdesk_id = ?")
                .bind(ticket_id)
                .bind(helpdesk.id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
        load_events(&mut conn, row_id).await
    }

    pub(super) async fn list_tickets_impl(
        &self,
        helpdesk: &Helpdesk,
        filter: &TicketFilter,
        known_total: Option<i64>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<Ticket>)> {
        let where_clause = |q: &mut QueryBuilder<'_, Sqlite>| {
            q.push(" FROM tickets t WHERE t.helpdesk_id = ")
                .push_bind(helpdesk.id);
            if let Some(id) = filter.ticket_id {
                q.push(" AND t.ticket_id = ").push_bind(id);
            }
            if let Some(agent) = &filter.agent_id {
                q.push(" AND EXISTS (SELECT 1 FROM json_each(t.agent_ids) WHERE value = ")
                    .push_bind(agent.clone())
                    .push(")");
            }
            if let Some(by) = &filter.closed_by_id {
                q.push(" AND t.closed_by_id = ").push_bind(by.clone());
            }
            if let Some(v) = filter.ticket_type {
                q.push(" AND t.ticket_type = ").push_bind(v);
            }
            if let Some(v) = filter.channel {
                q.push(" AND t.channel = ").push_bind(v);
            }
            if let Some(v) = filter.solved {
                q.push(" AND t.solve = ").push_bind(v);
            }
            if let Some(v) = filter.score {
                q.push(" AND t.score = ").push_bind(v);
            }
            if !filter.status_list.is_empty() {
                q.push(" AND t.status IN (");
                let mut list = q.separated(", ");
                for s in &filter.status_list {
                    list.push_bind(*s);
                }
                q.push(")");
            }
            if let Some(name) = &filter.guest_name {
                q.push(" AND t.guest_id IN (SELECT open_id FROM users WHERE tenant_id = ")
                    .push_bind(helpdesk.tenant_id)
                    .push(" AND name = ")
                    .push_bind(name.clone())
                    .push(")");
            }
            if let Some(guest) = &filter.guest_id {
                q.push(" AND t.guest_id = ").push_bind(guest.clone());
            }
            if !filter.tags.is_empty() {
                q.push(
                    " AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE json_extract(value, '$.name') IN (",
                );
                let mut list = q.separated(", ");
                for tag in &filter.tags {
                    list.push_bind(tag.clone());
                }
                q.push("))");
            }
            if let Some((from, to)) = filter.created {
                q.push(" AND t.created_at BETWEEN ")
                    .push_bind(from)
                    .push(" AND ")
                    .push_bind(to);
            }
            if let Some((from, to)) = filter.updated {
                q.push(" AND t.updated_at BETWEEN ")
                    .push_bind(from)
                    .push(" AND ")
                    .push_bind(to);
            }
        };

        let total: i64 = match known_total {
            Some(total) => total,
            None => {
                let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM (SELECT 1");
                where_clause(&mut count);
                count.push(" LIMIT ").push_bind(LIST_CAP).push(")");
                count.build_query_scalar().fetch_one(&self.pool).await?
            }
        };

        // Newest first; ticket_id breaks ties so pages never overlap. The page's ids are found
        // first and only those rows read: rows skipped by OFFSET then cost an index step, not a
        // table row.
        let mut page =
            QueryBuilder::<Sqlite>::new("SELECT t.* FROM tickets t WHERE t.ticket_id IN (SELECT t.ticket_id");
        where_clause(&mut page);
        page.push(" ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset)
            .push(") ORDER BY t.created_at DESC, t.ticket_id DESC");
        let rows = page.build().fetch_all(&self.pool).await?;
        let mut tickets = rows
            .iter()
            .map(|r| row_projection(r, &helpdesk.helpdesk_id))
            .collect::<StoreResult<Vec<_>>>()?;
        self.fill_people(helpdesk.tenant_id, &mut tickets).await?;
        Ok((total, tickets))
    }

    pub(super) async fn list_messages_impl(
        &self,
        helpdesk: &Helpdesk,
        ticket_id: i64,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TicketMessage>)> {
        let row_id: i64 =
            sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE ticket_id = ? AND helpdesk_id = ?")
                .bind(ticket_id)
                .bind(helpdesk.id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        let (from, to) = (range_ms.0.unwrap_or(i64::MIN), range_ms.1.unwrap_or(i64::MAX));
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ticket_messages WHERE ticket_id = ? AND created_at BETWEEN ? AND ?",
        )
        .bind(row_id)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT m.id, m.message_id, m.msg_type, m.created_at, m.content, m.sender_id,
                    coalesce(u.name, '') AS user_name, coalesce(u.avatar_url, '') AS avatar_url
             FROM ticket_messages m
             LEFT JOIN users u ON u.tenant_id = ? AND u.open_id = m.sender_id
             WHERE m.ticket_id = ? AND m.created_at BETWEEN ? AND ?
             ORDER BY m.created_at, m.id LIMIT ? OFFSET ?",
        )
        .bind(helpdesk.tenant_id)
        .bind(row_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let messages = rows
            .iter()
            .map(ticket_message_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, messages))
    }

    pub(super) async fn message_by_event_id_impl(
        &self,
        helpdesk: &Helpdesk,
        event_id: &str,
    ) -> StoreResult<(i64, StoredMessage)> {
        let row = sqlx::query(
            "SELECT t.ticket_id AS public_ticket_id, m.* FROM ticket_messages m JOIN tickets t ON t.ticket_id = m.ticket_id
             WHERE m.event_id = ? AND t.helpdesk_id = ?",
        )
        .bind(event_id)
        .bind(helpdesk.id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("public_ticket_id")?, stored_message_from_row(&row)?))
    }

    /// Recompute every ticket's projection (row and messages) from its event log.
    pub(super) async fn rebuild_projections_impl(&self) -> StoreResult<RebuildReport> {
        let tickets: Vec<(i64, String)> = sqlx::query_as(
            "SELECT t.ticket_id, h.helpdesk_id FROM tickets t JOIN helpdesks h ON h.id = t.helpdesk_id ORDER BY t.ticket_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut report = RebuildReport::default();
        for (ticket_id, helpdesk) in tickets {
            let row_id = ticket_id;
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let events = load_events(&mut tx, row_id).await?;
            let projected = project(ticket_id, &helpdesk, &events)?;
            let row = sqlx::query("SELECT * FROM tickets WHERE ticket_id = ?")
                .bind(row_id)
                .fetch_one(&mut *tx)
                .await?;
            let stored = row_projection(&row, &helpdesk)?;
            let messages = messages_of(row_id, &events);
            let stored_messages: Vec<(String, i64)> = sqlx::query_as(
                "SELECT message_id, position FROM ticket_messages WHERE ticket_id = ? ORDER BY position",
            )
            .bind(row_id)
            .fetch_all(&mut *tx)
            .await?;
            if stored != projected || !messages_match(&stored_messages, &messages) {
                report.changed += 1;
                write_projection(&mut tx, row_id, &projected).await?;
                sqlx::query("DELETE FROM ticket_messages WHERE ticket_id = ?")
                    .bind(row_id)
                    .execute(&mut *tx)
                    .await?;
                insert_messages(&mut tx, &messages).await?;
            }
            tx.commit().await?;
            report.tickets += 1;
        }
        Ok(report)
    }
}
