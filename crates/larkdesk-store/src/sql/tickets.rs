//! Tickets: the event log, the ticket projection, messages, list queries, and the write
//! transaction the service changes them through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use larkdesk_domain::events::TicketEvent;
use larkdesk_domain::ids::{HelpdeskRowId, TenantRowId, TicketId};
use larkdesk_domain::log::{Appended, LogMessage, LogState};
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

use super::{SqlStore, conflict_or, upsert_user};
use crate::backend::{Arg, Backend, Builder, Columns, On, Row, WriteTx, sql};
use crate::profile_cache::ProfileCache;
use crate::rows::{self, PROJECTION_COLUMNS, USER_COLUMNS, json_column, to_json};
use crate::{
    BotMessage, Helpdesk, LIST_CAP, ListRequest, LockedTicket, NewTicketRows, OutboxEntry, StoreResult,
    StoredMessage, Subscriber, TicketFilter, TicketStore, TicketWrite,
};

/// Rows per multi-row `INSERT`: comfortably under SQLite's 32,766 and PostgreSQL's 65,535 bind
/// parameters for the widest row (a ticket: 28 columns).
const ROWS_PER_INSERT: usize = 1000;

/// Statements whose text depends on the dialect, built once per store.
pub(crate) struct Statements {
    /// A ticket row (alias `t`) under the names `rows::projection` reads.
    ticket_columns: String,
    /// A ticket row with the directory profiles of the people it names: the ticket's columns
    /// repeated once per profile found (2–4 rows as a rule), or one row with NULL profile
    /// columns when none is. `$1` ticket_id, `$2` helpdesk row id, `$3` tenant row id.
    ticket_with_people: String,
    /// The ticket's row, `$1` ticket_id, `$2` helpdesk row id: it exists in this helpdesk.
    ticket_row: String,
    /// The ticket's projection and kept state, `$1` ticket_id, `$2` helpdesk row id, locking the
    /// row for the transaction.
    ticket_for_update: String,
    /// A page of ticket `$2`'s messages created from `$3` to `$4` (ms), `$5` rows from `$6`, with
    /// their senders' profiles in tenant `$1`.
    message_page: String,
    /// The message of ticket `$1` in helpdesk `$3` whose event id is `$2`.
    message_by_event_id: String,
}

impl Statements {
    pub(crate) fn new<DB: Backend>() -> Arc<Self> {
        let json = DB::JSON_AS_TEXT;
        let ticket_columns = format!(
            "t.ticket_id, t.helpdesk_id, t.guest_id, t.comments, t.ticket_type, t.status, t.score,
             t.created_at, t.updated_at, t.closed_at, t.dissatisfaction_reason,
             t.agent_ids{json} AS agent_ids, t.channel, t.solve, t.closed_by_id,
             t.collaborator_ids{json} AS collaborator_ids, t.customized_fields, t.agent_service_duration,
             t.agent_first_response_duration, t.bot_service_duration, t.agent_resolution_time,
             t.actual_processing_time, t.agent_entry_time, t.agent_first_response_time,
             t.agent_last_response_time, t.agent_owner_id, t.tags{json} AS tags, t.chat_id"
        );
        let profile = USER_COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let ticket_with_people = format!(
            "SELECT {ticket_columns}, {profile} FROM tickets t {}
             WHERE t.ticket_id = $1 AND t.helpdesk_id = $2",
            DB::PEOPLE_OF_TICKET
        );
        let ticket_row = "SELECT ticket_id, chat_id FROM tickets WHERE ticket_id = $1 AND helpdesk_id = $2";
        // With the tenant's directory version (`$3`, the tenant's row id), which the change's
        // render then needs, and whether any app subscribes to the helpdesk's events: a
        // change without subscribers then reads them in no statement of its own (two
        // statements fewer per change, round trips on PostgreSQL). The subqueries' rows are not
        // locked: FOR UPDATE locks the rows of FROM's tables.
        let ticket_for_update = format!(
            "SELECT {ticket_columns}, t.log_state,
                    (SELECT n.directory_version FROM tenants n WHERE n.id = $3) AS directory_version,
                    EXISTS (SELECT 1 FROM event_subscriptions e WHERE e.helpdesk_id = $2) AS subscribed
             FROM tickets t
             WHERE t.ticket_id = $1 AND t.helpdesk_id = $2{}",
            DB::FOR_UPDATE
        );
        let content = DB::MESSAGE_CONTENT;
        let message_page = format!(
            "SELECT m.id, m.message_id, m.msg_type, m.created_at, {content} AS content, m.sender_id,
                    coalesce(u.name, '') AS user_name, coalesce(u.avatar_url, '') AS avatar_url
             FROM ticket_events e JOIN ticket_messages m ON m.id = e.id
             LEFT JOIN users u ON u.tenant_id = $1 AND u.open_id = m.sender_id
             WHERE e.ticket_id = $2 AND m.created_at BETWEEN $3 AND $4
             ORDER BY e.seq LIMIT $5 OFFSET $6"
        );
        let message_by_event_id = format!(
            "SELECT m.ticket_id, m.message_id, m.event_id, m.msg_type, {content} AS content, m.sender_type,
                    m.sender_id, m.created_at, m.position, e.seq
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.ticket_id
             JOIN ticket_messages m ON m.id = e.id
             WHERE t.ticket_id = $1 AND t.helpdesk_id = $3 AND m.event_id = $2"
        );
        Arc::new(Self {
            ticket_columns,
            ticket_with_people,
            ticket_row: ticket_row.to_owned(),
            ticket_for_update,
            message_page,
            message_by_event_id,
        })
    }
}

// A ticket's messages are reached through its log's (ticket_id, seq) index: a message row has
// the row id of its event (migration 0015). They come in log order, which is time order (a log's
// times never go back). Their content is read from their events (`Dialect::MESSAGE_CONTENT`).

/// How many messages of ticket `$1` were created from `$2` to `$3` (ms).
const MESSAGE_COUNT: &str = "SELECT count(*) AS n FROM ticket_events e JOIN ticket_messages m ON m.id = e.id
     WHERE e.ticket_id = $1 AND m.created_at BETWEEN $2 AND $3";
/// Every message id of ticket `$1` and its position.
const MESSAGE_POSITIONS: &str =
    "SELECT m.message_id, m.position FROM ticket_events e JOIN ticket_messages m ON m.id = e.id
     WHERE e.ticket_id = $1 ORDER BY e.seq";

/// The projection's values after the placeholders a builder is at, JSON list columns cast the
/// way the dialect wants them.
fn push_projection<'t, DB: Backend>(b: &mut Builder<'t>, t: &'t Ticket) {
    for (i, (arg, json)) in rows::projection_values(t).into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.arg(arg);
        if json {
            b.push(DB::TO_JSON);
        }
    }
}

/// Insert messages of tickets, as `(ticket, message)` rows, each under the row id of its event
/// (which must be inserted already): a ticket's messages are found through its log's index (see
/// migration 0015), so they need no index of their own.
///
/// Their `content` is left empty: a message's content is in its event, and is read from there
/// ([`crate::dialect::Dialect::MESSAGE_CONTENT`]). Stored in both until 2026-12-07, a message
/// was written twice, so twice into SQLite's log and twice again into the database file by the
/// checkpointer, which shares the server's core: with 150 KiB messages posted to one ticket
/// (`bench/heavy-ticket.sh`, one run each on one VM) the heavy ticket took 338–676 posts a
/// second instead of 576–830, and the other tenant's writes beside it had a p99 of 8.8–18.1 ms
/// instead of 7.0–10.5. Rows written before keep their copy, which nothing reads.
async fn insert_messages<DB: Backend>(
    tx: &mut WriteTx<DB>,
    messages: &[(TicketId, &LogMessage)],
) -> StoreResult<()> {
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        let mut b = Builder::new::<DB>(
            "INSERT INTO ticket_messages (id, ticket_id, message_id, event_id, msg_type, content, sender_type,
               sender_id, created_at, position) VALUES ",
        );
        for (i, &(id, m)) in chunk.iter().enumerate() {
            b.push(if i == 0 { "((" } else { ", ((" })
                .push("SELECT id FROM ticket_events WHERE ticket_id = ")
                .arg(id)
                .push(" AND seq = ")
                .arg(m.seq)
                .push("), ");
            b.args([
                id.into(),
                (&m.message_id).into(),
                (&m.event_id).into(),
                (&m.msg_type).into(),
                "".into(),
                m.sender_type.into(),
                (&m.sender_id).into(),
                m.created_at.into(),
                m.position.into(),
            ] as [crate::backend::Arg<'_>; 9])
                .push(")");
        }
        b.build()
            .execute(&mut *tx)
            .await
            .map_err(conflict_or("message_id already exists"))?;
    }
    Ok(())
}

/// Append `events` to a ticket's log, the first one at `first_seq`.
async fn insert_events<DB: Backend>(
    tx: &mut WriteTx<DB>,
    logs: &[(TicketId, usize, &[TicketEvent])],
) -> StoreResult<()> {
    let rows: Vec<(TicketId, i64, i64, String)> = logs
        .iter()
        .flat_map(|&(id, first_seq, events)| {
            events
                .iter()
                .enumerate()
                .map(move |(i, e)| (id, (first_seq + i) as i64, e.at_ms, to_json(e)))
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut b = Builder::new::<DB>("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES ");
        for (i, (id, seq, at_ms, event)) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.arg(*id)
                .push(", ")
                .arg(*seq)
                .push(", ")
                .arg(*at_ms)
                .push(", ")
                .arg(event)
                .push(")");
        }
        b.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn load_events<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    id: TicketId,
) -> StoreResult<Vec<TicketEvent>> {
    let rows = sql("SELECT event FROM ticket_events WHERE ticket_id = $1 ORDER BY seq")
        .bind(id)
        .fetch_all(on)
        .await?;
    rows.iter()
        .map(|r| json_column(&r.text("event")?, "ticket_events.event"))
        .collect()
}

/// Directory profiles of `open_ids` in a tenant.
async fn profiles<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    tenant: TenantRowId,
    open_ids: &[String],
) -> StoreResult<crate::Profiles> {
    // From the tenant's row, so that the version comes with the profiles (one statement: one
    // snapshot) even when nobody is found. The ids are bound one by one: each is then one index
    // lookup, where a JSON list unpacked in SQL cost SQLite more than the whole rest of a
    // message post's reads.
    let mut q = Builder::new::<DB>(format!(
        "SELECT n.directory_version, {} FROM tenants n
         LEFT JOIN users u ON u.tenant_id = n.id AND u.open_id IN (",
        *PROFILE_COLUMNS
    ));
    if open_ids.is_empty() {
        q.push("NULL");
    } else {
        q.args(open_ids.iter().map(String::as_str));
    }
    q.push(") WHERE n.id = ").arg(tenant);
    let rows = q.build().fetch_all(on).await?;
    let directory_version = match rows.first() {
        Some(row) => row.int("directory_version")?,
        None => return Err(crate::StoreError::NotFound),
    };
    Ok(crate::Profiles {
        people: rows::profiles(&rows)?,
        directory_version,
    })
}

/// [`USER_COLUMNS`] of the users row `u`.
static PROFILE_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
});

/// A page of a helpdesk's tickets, newest first, after the `(created_at, ticket_id)` position
/// `before` (keyset paging: a page costs the same at any depth; see the plan test below).
fn ticket_page_query<'q, DB: Backend>(
    columns: &str,
    helpdesk: HelpdeskRowId,
    status: Option<i64>,
    before: Option<(i64, TicketId)>,
    limit: i64,
) -> Builder<'q> {
    let mut page = Builder::new::<DB>(format!("SELECT {columns} FROM tickets t WHERE t.helpdesk_id = "));
    page.arg(helpdesk);
    if let Some(status) = status {
        page.push(" AND t.status = ").arg(status);
    }
    if let Some((created_at, ticket_id)) = before {
        // A row value, which both SQLite and PostgreSQL read as a range on the index.
        page.push(" AND (t.created_at, t.ticket_id) < (")
            .arg(created_at)
            .push(", ")
            .arg(ticket_id)
            .push(")");
    }
    page.push(" ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT ")
        .arg(limit.clamp(1, 500));
    page
}

/// `$1` ticket_id, `$2` helpdesk row id, `$3` tenant row id: what the point reads of one ticket
/// ([`TicketStore::ticket`], [`RENDERED_TICKET`]) bind.
fn ticket_key(helpdesk: &Helpdesk, id: TicketId) -> [Arg<'static>; 3] {
    [id.into(), helpdesk.id.into(), helpdesk.tenant_id.into()]
}

/// `$1` ticket_id, `$2` helpdesk row id, `$3` tenant row id: the render, if current.
const RENDERED_TICKET: &str = "SELECT t.render FROM tickets t JOIN tenants n ON n.id = $3
     WHERE t.ticket_id = $1 AND t.helpdesk_id = $2 AND t.render_directory_version = n.directory_version";

/// A list page's renders: each ticket's, if current (the rule of [`RENDERED_TICKET`]); needs the
/// tenant as `n` (see [`list_page`]).
const PAGE_RENDERS: &str =
    "CASE WHEN t.render_directory_version = n.directory_version THEN t.render END AS render";

/// `SELECT {columns} FROM tickets t … WHERE t.ticket_id IN (the page's ids)`, newest first
/// (`created_at`, then `ticket_id`, so pages never overlap); with `with_tenant`, the helpdesk's
/// tenant row joined as `n`. The page's ids are found first and only those rows read: rows
/// skipped by OFFSET then cost an index step, not a table row.
fn list_page<'q, DB: Backend>(
    columns: &str,
    with_tenant: bool,
    helpdesk: &Helpdesk,
    list: ListRequest<'q>,
) -> Builder<'q> {
    let mut page = Builder::new::<DB>(format!("SELECT {columns} FROM tickets t"));
    if with_tenant {
        page.push(" JOIN tenants n ON n.id = ").arg(helpdesk.tenant_id);
    }
    page.push(" WHERE t.ticket_id IN (SELECT t.ticket_id");
    where_clause::<DB>(&mut page, helpdesk, list.filter);
    page.push(" ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT ")
        .arg(list.limit)
        .push(" OFFSET ")
        .arg(list.offset)
        .push(") ORDER BY t.created_at DESC, t.ticket_id DESC");
    page
}

impl<DB: Backend> SqlStore<DB> {
    /// Where a list of `filter` reads. A filter on creation facts only reads one index range of
    /// at most LIST_CAP entries (offset + limit are within it): bounded, so on a SQLite file it
    /// reads on this thread, as a point read does. Other filters can scan a helpdesk's tickets.
    fn list_reads(&self, filter: &TicketFilter) -> On<'_, DB> {
        match filter.matches_by_creation_only() {
            true => self.bounded_reads(),
            false => On::Pool(&self.pool),
        }
    }

    /// The total of a list, capped at LIST_CAP, unless the caller knows it.
    async fn list_total(&self, helpdesk: &Helpdesk, list: ListRequest<'_>) -> StoreResult<i64> {
        if let Some(total) = list.known_total {
            return Ok(total);
        }
        let mut count = Builder::new::<DB>("SELECT count(*) AS n FROM (SELECT 1");
        where_clause::<DB>(&mut count, helpdesk, list.filter);
        count.push(" LIMIT ").arg(LIST_CAP).push(") AS capped");
        count
            .build()
            .fetch_one(self.list_reads(list.filter))
            .await?
            .int("n")
    }

    /// Tickets from rows holding their projection, with their people's directory profiles.
    async fn with_people(
        &self,
        rows: &[Row<DB>],
        helpdesk: &Helpdesk,
        on: On<'_, DB>,
    ) -> StoreResult<Vec<Ticket>> {
        let mut tickets = rows
            .iter()
            .map(|r| rows::projection(r, &helpdesk.helpdesk_id))
            .collect::<StoreResult<Vec<_>>>()?;
        let people = profiles(on, helpdesk.tenant_id, &rows::people_named(&tickets)).await?;
        rows::fill_people(&people.people, &mut tickets);
        Ok(tickets)
    }
}

#[async_trait]
impl<DB: Backend> TicketStore for SqlStore<DB> {
    async fn begin_write(&self) -> StoreResult<Box<dyn TicketWrite>> {
        Ok(Box::new(SqlWrite {
            tx: self.writer.begin().await?,
            statements: self.statements.clone(),
            profiles: self.profiles.clone(),
            added_people: false,
            directory_version: None,
            unsubscribed: None,
            ticket_set: self.ticket_set.clone(),
            inserted: false,
        }))
    }

    fn ticket_set_version(&self) -> u64 {
        self.ticket_set.load(Ordering::Acquire)
    }

    /// One statement (on a SQLite file, read on this thread; on PostgreSQL, one round trip),
    /// however many people the ticket names.
    async fn ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Ticket> {
        let query = self.statements.ticket_with_people.as_str();
        let rows = self.point_read(query, ticket_key(helpdesk, id)).await?;
        rows::ticket_with_people(&rows, &helpdesk.helpdesk_id)
    }

    async fn rendered_ticket(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Option<String>> {
        let rows = self.point_read(RENDERED_TICKET, ticket_key(helpdesk, id)).await?;
        rows.first().map(|r| r.text("render")).transpose()
    }

    async fn ticket_events(&self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<Vec<TicketEvent>> {
        let mut conn = self.pool.acquire().await?;
        sql(self.statements.ticket_row.as_str())
            .bind(id)
            .bind(helpdesk.id)
            .fetch_one(&mut conn)
            .await?;
        load_events(&mut conn, id).await
    }

    async fn list_tickets(
        &self,
        helpdesk: &Helpdesk,
        list: ListRequest<'_>,
    ) -> StoreResult<(i64, Vec<Ticket>)> {
        let total = self.list_total(helpdesk, list).await?;
        let page = list_page::<DB>(&self.statements.ticket_columns, false, helpdesk, list);
        let rows = page.build().fetch_all(self.list_reads(list.filter)).await?;
        Ok((
            total,
            self.with_people(&rows, helpdesk, self.list_reads(list.filter))
                .await?,
        ))
    }

    async fn list_ticket_renders(
        &self,
        helpdesk: &Helpdesk,
        list: ListRequest<'_>,
    ) -> StoreResult<(i64, Option<Vec<String>>)> {
        let total = self.list_total(helpdesk, list).await?;
        let page = list_page::<DB>(PAGE_RENDERS, true, helpdesk, list);
        let rows = page.build().fetch_all(self.list_reads(list.filter)).await?;
        // `None` as soon as one render was made before a profile changed, or is missing.
        let renders = rows
            .iter()
            .map(|row| row.opt_text("render"))
            .collect::<StoreResult<Option<Vec<String>>>>()?;
        Ok((total, renders))
    }

    async fn ticket_page(
        &self,
        helpdesk: &Helpdesk,
        status: Option<i64>,
        before: Option<(i64, TicketId)>,
        limit: i64,
    ) -> StoreResult<Vec<Ticket>> {
        let page = ticket_page_query::<DB>(
            &self.statements.ticket_columns,
            helpdesk.id,
            status,
            before,
            limit,
        );
        // One index range of `limit` entries: bounded (see `SqlStore::bounded_reads`).
        let rows = page.build().fetch_all(self.bounded_reads()).await?;
        self.with_people(&rows, helpdesk, self.bounded_reads()).await
    }

    async fn list_messages(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> StoreResult<(i64, Vec<TicketMessage>)> {
        sql(self.statements.ticket_row.as_str())
            .bind(id)
            .bind(helpdesk.id)
            .fetch_one(&self.pool)
            .await?;
        let (from, to) = (range_ms.0.unwrap_or(i64::MIN), range_ms.1.unwrap_or(i64::MAX));
        let total = sql(MESSAGE_COUNT)
            .bind(id)
            .bind(from)
            .bind(to)
            .fetch_one(&self.pool)
            .await?
            .int("n")?;
        let rows = sql(self.statements.message_page.as_str())
            .bind(helpdesk.tenant_id)
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let messages = rows
            .iter()
            .map(rows::ticket_message)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, messages))
    }

    async fn message_by_event_id(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        event_id: &str,
    ) -> StoreResult<StoredMessage> {
        let row = sql(self.statements.message_by_event_id.as_str())
            .bind(id)
            .bind(event_id)
            .bind(helpdesk.id)
            .fetch_one(&self.pool)
            .await?;
        rows::stored_message(&row)
    }

    async fn all_tickets(&self) -> StoreResult<Vec<(TicketId, String)>> {
        let rows = sql(
            "SELECT t.ticket_id, h.helpdesk_id FROM tickets t JOIN helpdesks h ON h.id = t.helpdesk_id
             ORDER BY t.ticket_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((TicketId::new(r.int("ticket_id")?), r.text("helpdesk_id")?)))
            .collect()
    }

    async fn tags_for_names(
        &self,
        helpdesk: &Helpdesk,
        names: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            sql("INSERT INTO tags (helpdesk_id, tag_id, name) VALUES ($1, $2, $3)
                 ON CONFLICT (helpdesk_id, name) DO NOTHING")
            .bind(helpdesk.id)
            .bind(larkdesk_domain::ids::new_numeric_id())
            .bind(name)
            .execute(&self.writer)
            .await?;
            let row = sql("SELECT tag_id FROM tags WHERE helpdesk_id = $1 AND name = $2")
                .bind(helpdesk.id)
                .bind(name)
                .fetch_one(&self.writer)
                .await?;
            out.push((row.text("tag_id")?, name.clone()));
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
        sql("INSERT INTO ticket_images (message_id, idx, content_type, bytes) VALUES ($1, $2, $3, $4)")
            .bind(message_id)
            .bind(index)
            .bind(content_type)
            .bind(bytes)
            .execute(&self.writer)
            .await
            .map_err(conflict_or("image already stored"))?;
        Ok(())
    }

    async fn image(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        message_id: &str,
        index: i64,
    ) -> StoreResult<(String, Vec<u8>)> {
        let row = sql("SELECT i.content_type, i.bytes FROM ticket_images i
             JOIN ticket_messages m ON m.message_id = i.message_id
             JOIN tickets t ON t.ticket_id = m.ticket_id
             WHERE t.ticket_id = $1 AND t.helpdesk_id = $2 AND i.message_id = $3 AND i.idx = $4")
        .bind(id)
        .bind(helpdesk.id)
        .bind(message_id)
        .bind(index)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.text("content_type")?, row.bytes("bytes")?))
    }

    async fn record_bot_message(&self, helpdesk: &Helpdesk, m: &BotMessage) -> StoreResult<()> {
        record_bot_message(&self.writer, helpdesk.id, m).await
    }

    async fn finish_bulk_load(&self) -> StoreResult<()> {
        DB::finish_bulk_load(&self.writer.pool).await
    }

    fn bulk_load_jobs(&self) -> usize {
        DB::bulk_load_jobs(self.max_connections)
    }
}

/// ` FROM tickets t WHERE …` for `GET /tickets` filters (all combined with AND).
fn where_clause<'q, DB: Backend>(q: &mut Builder<'q>, helpdesk: &Helpdesk, filter: &'q TicketFilter) {
    q.push(" FROM tickets t WHERE t.helpdesk_id = ").arg(helpdesk.id);
    if let Some(id) = filter.ticket_id {
        q.push(" AND t.ticket_id = ").arg(id);
    }
    if let Some(agent) = &filter.agent_id {
        let p = q.placeholder(agent);
        q.push(" AND ").push(&DB::json_list_has("t.agent_ids", &p));
    }
    if let Some(by) = &filter.closed_by_id {
        q.push(" AND t.closed_by_id = ").arg(by);
    }
    let exact = [
        ("t.ticket_type", filter.ticket_type),
        ("t.channel", filter.channel),
        ("t.solve", filter.solved),
        ("t.score", filter.score),
    ];
    for (column, value) in exact {
        if let Some(v) = value {
            q.push(" AND ").push(column).push(" = ").arg(v);
        }
    }
    if !filter.status_list.is_empty() {
        q.push(" AND t.status IN (")
            .args(filter.status_list.iter().copied())
            .push(")");
    }
    if let Some(name) = &filter.guest_name {
        q.push(" AND t.guest_id IN (SELECT open_id FROM users WHERE tenant_id = ")
            .arg(helpdesk.tenant_id)
            .push(" AND name = ")
            .arg(name)
            .push(")");
    }
    if let Some(guest) = &filter.guest_id {
        q.push(" AND t.guest_id = ").arg(guest);
    }
    if !filter.tags.is_empty() {
        let names: Vec<String> = filter.tags.iter().map(|t| q.placeholder(t)).collect();
        q.push(" AND ").push(&DB::tags_named_any("t.tags", &names));
    }
    if let Some((from, to)) = filter.updated {
        // The hours the range touches (the index's key), then the range itself.
        q.push(" AND t.updated_hour BETWEEN ")
            .arg(rows::update_hour(from))
            .push(" AND ")
            .arg(rows::update_hour(to));
    }
    for (column, range) in [("t.created_at", filter.created), ("t.updated_at", filter.updated)] {
        if let Some((from, to)) = range {
            q.push(" AND ")
                .push(column)
                .push(" BETWEEN ")
                .arg(from)
                .push(" AND ")
                .arg(to);
        }
    }
}

/// A [`TicketWrite`] on a SQL transaction.
struct SqlWrite<DB: Backend> {
    tx: WriteTx<DB>,
    statements: Arc<Statements>,
    profiles: Arc<ProfileCache>,
    /// This transaction added people to the directory: what it reads of the directory is not
    /// committed, so the profile cache is left alone.
    added_people: bool,
    /// The tenant's directory version, read when a ticket of it was locked: the version the
    /// profile cache is checked against. Only people added can change it within this
    /// transaction, and then the cache is not used.
    directory_version: Option<(TenantRowId, i64)>,
    /// A helpdesk no app subscribed to when a ticket of it was locked: its subscribers are
    /// then none, unread. (A subscription committed since is a race the change could as well
    /// have won.)
    unsubscribed: Option<HelpdeskRowId>,
    /// The store's [`TicketStore::ticket_set_version`], bumped once this commits, if it
    /// `inserted` tickets.
    ticket_set: Arc<AtomicU64>,
    inserted: bool,
}

#[async_trait]
impl<DB: Backend> TicketWrite for SqlWrite<DB> {
    async fn lock(&mut self, helpdesk: &Helpdesk, id: TicketId) -> StoreResult<LockedTicket> {
        let row = sql(self.statements.ticket_for_update.as_str())
            .bind(id)
            .bind(helpdesk.id)
            .bind(helpdesk.tenant_id)
            .fetch_one(&mut self.tx)
            .await?;
        self.directory_version = Some((helpdesk.tenant_id, row.int("directory_version")?));
        self.unsubscribed = (!row.flag("subscribed")?).then_some(helpdesk.id);
        Ok(LockedTicket {
            chat_id: row.text("chat_id")?,
            projection: rows::projection(&row, &helpdesk.helpdesk_id)?,
            state: row
                .opt_text("log_state")?
                .map(|s| json_column(&s, "log_state"))
                .transpose()?,
        })
    }

    async fn log(&mut self, id: TicketId) -> StoreResult<Vec<TicketEvent>> {
        load_events(&mut self.tx, id).await
    }

    async fn insert(&mut self, helpdesk: &Helpdesk, tickets: &[NewTicketRows<'_>]) -> StoreResult<()> {
        self.inserted = true;
        for chunk in tickets.chunks(ROWS_PER_INSERT) {
            let mut b = Builder::new::<DB>(format!(
                "INSERT INTO tickets (ticket_id, helpdesk_id, chat_id, log_state, {PROJECTION_COLUMNS}) VALUES "
            ));
            for (i, t) in chunk.iter().enumerate() {
                b.push(if i == 0 { "(" } else { ", (" });
                b.arg(t.id)
                    .push(", ")
                    .arg(helpdesk.id)
                    .push(", ")
                    .arg(t.chat_id)
                    .push(", ")
                    .arg(to_json(t.state))
                    .push(", ");
                push_projection::<DB>(&mut b, t.projection);
                b.push(")");
            }
            b.build()
                .execute(&mut self.tx)
                .await
                .map_err(conflict_or("ticket_id already exists"))?;
        }
        let logs: Vec<_> = tickets.iter().map(|t| (t.id, 1, t.log)).collect();
        insert_events::<DB>(&mut self.tx, &logs).await?;
        let messages: Vec<_> = tickets
            .iter()
            .flat_map(|t| t.messages.iter().map(|m| (t.id, m)))
            .collect();
        insert_messages::<DB>(&mut self.tx, &messages).await
    }

    async fn append(
        &mut self,
        id: TicketId,
        change: &Appended,
        stored_is_before: bool,
        render: crate::Render<'_>,
    ) -> StoreResult<()> {
        insert_events::<DB>(&mut self.tx, &[(id, change.first_seq, &change.events)]).await?;
        let stored = change.before.as_ref().filter(|_| stored_is_before);
        write_projection::<DB>(
            &mut self.tx,
            id,
            &change.after,
            &change.state,
            stored,
            Some(render),
        )
        .await?;
        let messages: Vec<_> = change.new_messages.iter().map(|m| (id, m)).collect();
        insert_messages::<DB>(&mut self.tx, &messages).await
    }

    async fn message_positions(&mut self, id: TicketId) -> StoreResult<Vec<(String, i64)>> {
        sql(MESSAGE_POSITIONS)
            .bind(id)
            .fetch_all(&mut self.tx)
            .await?
            .iter()
            .map(|r| Ok((r.text("message_id")?, r.int("position")?)))
            .collect()
    }

    async fn replace(
        &mut self,
        id: TicketId,
        projection: &Ticket,
        state: &LogState,
        messages: &[LogMessage],
    ) -> StoreResult<()> {
        write_projection::<DB>(&mut self.tx, id, projection, state, None, None).await?;
        sql("DELETE FROM ticket_messages WHERE id IN (SELECT id FROM ticket_events WHERE ticket_id = $1)")
            .bind(id)
            .execute(&mut self.tx)
            .await?;
        let messages: Vec<_> = messages.iter().map(|m| (id, m)).collect();
        insert_messages::<DB>(&mut self.tx, &messages).await
    }

    async fn add_people(&mut self, tenant: TenantRowId, people: &[(&TicketUser, bool)]) -> StoreResult<()> {
        self.added_people |= !people.is_empty();
        if let (Some(lock), false) = (DB::LOCK_DIRECTORY, people.is_empty()) {
            sql(lock).execute(&mut self.tx).await?;
        }
        for (user, is_agent) in people {
            upsert_user(&mut self.tx, tenant, user, *is_agent, false).await?;
        }
        Ok(())
    }

    /// The people kept in the profile cache at the tenant's current directory version, if all
    /// are; else read (and kept).
    async fn profiles(&mut self, tenant: TenantRowId, open_ids: &[String]) -> StoreResult<crate::Profiles> {
        if self.added_people || open_ids.is_empty() {
            return profiles(&mut self.tx, tenant, open_ids).await;
        }
        let version = match self.directory_version {
            Some((locked_in, version)) if locked_in == tenant => version,
            _ => sql("SELECT directory_version FROM tenants WHERE id = $1")
                .bind(tenant)
                .fetch_one(&mut self.tx)
                .await?
                .int("directory_version")?,
        };
        if let Some(kept) = self.profiles.get(tenant, version, open_ids) {
            return Ok(kept);
        }
        let read = profiles(&mut self.tx, tenant, open_ids).await?;
        self.profiles.put(tenant, &read);
        Ok(read)
    }

    async fn put_renders(
        &mut self,
        helpdesk: &Helpdesk,
        directory_version: i64,
        renders: &[(TicketId, &str)],
    ) -> StoreResult<()> {
        for &(id, body) in renders {
            sql("UPDATE tickets SET render_directory_version = $1, render = $2
                 WHERE ticket_id = $3 AND helpdesk_id = $4")
            .bind(directory_version)
            .bind(body)
            .bind(id)
            .bind(helpdesk.id)
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    async fn subscribers(&mut self, helpdesk: HelpdeskRowId) -> StoreResult<Vec<Subscriber>> {
        if self.unsubscribed == Some(helpdesk) {
            return Ok(Vec::new());
        }
        subscribers(&mut self.tx, helpdesk).await
    }

    async fn enqueue(&mut self, entries: &[OutboxEntry]) -> StoreResult<()> {
        enqueue(&mut self.tx, entries).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let committed = self.tx.commit().await;
        // After the commit (a count taken since sees the new tickets), and whatever its outcome.
        if self.inserted {
            self.ticket_set.fetch_add(1, Ordering::Release);
        }
        committed
    }
}

/// Write a ticket's projection and kept state, and its render if given (one row update, not
/// two: each rewrites the whole row, render included). With the projection the row holds
/// (`stored`), only the columns whose values differ are set: an index whose columns are not set
/// is not touched (SQLite rewrites the entries of every index on a column in the SET list;
/// PostgreSQL can then update the row in place), and a message post changes two or three of 25
/// columns.
async fn write_projection<DB: Backend>(
    tx: &mut WriteTx<DB>,
    id: TicketId,
    t: &Ticket,
    state: &LogState,
    stored: Option<&Ticket>,
    render: Option<crate::Render<'_>>,
) -> StoreResult<()> {
    let before = stored.map(rows::projection_values);
    let mut b = Builder::new::<DB>("UPDATE tickets SET log_state = ");
    b.arg(to_json(state));
    if let Some(render) = render {
        b.push(", render_directory_version = ")
            .arg(render.directory_version)
            .push(", render = ")
            .arg(render.body);
    }
    for (i, (arg, json)) in rows::projection_values(t).into_iter().enumerate() {
        if before.as_ref().is_some_and(|before| before[i].0 == arg) {
            continue;
        }
        b.push(", ").push(PROJECTION_COLUMN_NAMES[i]).push(" = ").arg(arg);
        if json {
            b.push(DB::TO_JSON);
        }
    }
    b.push(" WHERE ticket_id = ").arg(id);
    let changed = b.build().execute(tx).await?;
    super::found(changed)
}

/// The names in [`rows::PROJECTION_COLUMNS`], in its order.
static PROJECTION_COLUMN_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| rows::PROJECTION_COLUMNS.split(',').map(str::trim).collect());

/// A message the helpdesk bot sent outside tickets (`POST /message`, push jobs).
pub(crate) async fn record_bot_message<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    helpdesk: HelpdeskRowId,
    m: &BotMessage,
) -> StoreResult<()> {
    sql("INSERT INTO bot_messages (helpdesk_id, message_id, receiver_id, receive_type, msg_type, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)")
    .bind(helpdesk)
    .bind(&m.message_id)
    .bind(&m.receiver_id)
    .bind(&m.receive_type)
    .bind(&m.msg_type)
    .bind(&m.content)
    .bind(m.at_ms)
    .execute(on)
    .await?;
    Ok(())
}

/// Apps with event settings subscribed to this helpdesk's events, one row per event type.
pub(crate) async fn subscribers<'a, DB: Backend>(
    on: impl Into<On<'a, DB>>,
    helpdesk: HelpdeskRowId,
) -> StoreResult<Vec<Subscriber>> {
    let rows = sql(
        "SELECT a.id, a.app_id, s.verification_token, t.tenant_key, e.event_type
         FROM event_subscriptions e
         JOIN apps a ON a.id = e.app_id
         JOIN app_event_settings s ON s.app_id = a.id
         JOIN tenants t ON t.id = a.tenant_id
         WHERE e.helpdesk_id = $1",
    )
    .bind(helpdesk)
    .fetch_all(on)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Subscriber {
                app: larkdesk_domain::ids::AppRowId(r.int("id")?),
                app_id: r.text("app_id")?,
                verification_token: r.text("verification_token")?,
                tenant_key: r.text("tenant_key")?,
                event_type: r.text("event_type")?,
            })
        })
        .collect()
}

/// Write events to deliver into the outbox.
pub(crate) async fn enqueue<DB: Backend>(conn: &mut WriteTx<DB>, entries: &[OutboxEntry]) -> StoreResult<()> {
    for e in entries {
        sql(
            "INSERT INTO event_outbox (event_id, app_id, event_type, body, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.event_id)
        .bind(e.app)
        .bind(&e.event_type)
        .bind(&e.body)
        .bind(e.at_ms)
        .bind(e.at_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freshly created and migrated SQLite database, opened directly (with its directory).
    async fn migrated_sqlite() -> (tempfile::TempDir, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.db");
        let url = format!("sqlite://{}", path.display());
        drop(crate::connect(&url, 1).await.expect("create and migrate"));
        let conn = rusqlite::Connection::open(&path).unwrap();
        (dir, conn)
    }

    /// SQLite's plan for `query` (parameters unbound), its steps joined by ` | `.
    fn query_plan(conn: &rusqlite::Connection, query: &str) -> String {
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {query}")).unwrap();
        let unbound = std::iter::repeat_n(rusqlite::types::Null, plan.parameter_count());
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(unbound), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        steps.join(" | ")
    }

    /// Keyset pages of the console's queue must stay index ranges at any depth: no sort of the
    /// helpdesk's tickets, no scan past the page (what "a page at 1M tickets costs what a page
    /// at 1k does" rests on).
    #[tokio::test]
    async fn ticket_pages_are_index_ranges_without_a_sort() {
        let (_dir, conn) = migrated_sqlite().await;
        let columns = Statements::new::<sqlx::Sqlite>().ticket_columns.clone();
        for status in [None, Some(50)] {
            for before in [None, Some((1_700_000_000_000, TicketId::new(7)))] {
                let query = ticket_page_query::<sqlx::Sqlite>(&columns, HelpdeskRowId(1), status, before, 20);
                let plan = query_plan(&conn, query.text());
                assert!(
                    plan.contains("USING INDEX tickets_by_helpdesk_"),
                    "{status:?} {before:?}: {plan}"
                );
                assert!(!plan.contains("TEMP B-TREE"), "{status:?} {before:?}: {plan}");
                if before.is_some() {
                    assert!(plan.contains("created_at<"), "a range, not a scan: {plan}");
                }
            }
        }
    }

    /// A list filtered by update time reads the range's hours from their index (migration 0016),
    /// not every ticket of the helpdesk.
    #[tokio::test]
    async fn lists_by_update_time_read_the_update_hours_index() {
        let (_dir, conn) = migrated_sqlite().await;
        let helpdesk = Helpdesk {
            id: HelpdeskRowId(1),
            helpdesk_id: "7000000000000000001".into(),
            tenant_id: larkdesk_domain::ids::TenantRowId(1),
            name: "Plan".into(),
            token_hash: larkdesk_domain::credentials::SecretHash::of("t"),
        };
        let filter = TicketFilter {
            updated: Some((1_700_000_000_000, 1_700_000_600_000)),
            ..TicketFilter::default()
        };
        let query =
            list_page::<sqlx::Sqlite>("t.ticket_id", false, &helpdesk, ListRequest::new(&filter, 0, 20));
        let plan = query_plan(&conn, query.text());
        assert!(
            plan.contains("USING INDEX tickets_by_helpdesk_update_hour (helpdesk_id=? AND updated_hour>? AND updated_hour<?)"),
            "{plan}"
        );
    }

    /// A ticket's messages are read through its log's index and by row id: no scan of the
    /// messages table, no sort.
    #[tokio::test]
    async fn messages_are_read_through_their_tickets_log_index() {
        let (_dir, conn) = migrated_sqlite().await;
        let statements = Statements::new::<sqlx::Sqlite>();
        for query in [
            MESSAGE_COUNT,
            &statements.message_page,
            MESSAGE_POSITIONS,
            &statements.message_by_event_id,
        ] {
            let plan = query_plan(&conn, query);
            assert!(
                plan.contains("SEARCH e USING") && plan.contains("(ticket_id=?"),
                "{query}: {plan}"
            );
            assert!(
                plan.contains("SEARCH m USING INTEGER PRIMARY KEY"),
                "{query}: {plan}"
            );
            assert!(
                !plan.contains("SCAN") && !plan.contains("TEMP B-TREE"),
                "{query}: {plan}"
            );
        }
    }
}
