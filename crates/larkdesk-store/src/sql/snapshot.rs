//! Snapshots: every table of [`RESET_ORDER`] read as JSON rows (column → value) and written
//! back, generically from each table's columns as the database declares them, so one snapshot
//! format serves both backends. Values: integers and reals as numbers, flags as booleans (SQLite
//! stores them as INTEGER 0/1; either is accepted back), text and JSON columns as strings, bytes
//! as lower-case hex strings.

use larkdesk_domain::events::{EventKind, TicketEvent};
use serde_json::{Map, Value};

use super::{RESET_ORDER, SqlStore};
use crate::backend::{Arg, Backend, Columns, sql};
use crate::{StoreError, StoreResult};

/// One table's rows in a snapshot.
pub type SnapshotRows = Vec<Map<String, Value>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
    /// PostgreSQL JSON/JSONB (read and written as text, cast back on write).
    Json,
    Bytes,
}

struct Column {
    name: String,
    kind: Kind,
    /// The declared type, for the cast a JSON column needs.
    declared: String,
}

fn kind(declared: &str) -> Kind {
    if declared.contains("INT") {
        Kind::Int
    } else if declared.contains("REAL") || declared.contains("DOUBLE") || declared.contains("FLOAT") {
        Kind::Float
    } else if declared.contains("BOOL") {
        Kind::Bool
    } else if declared.contains("BLOB") || declared.contains("BYTEA") {
        Kind::Bytes
    } else if declared.contains("JSON") {
        Kind::Json
    } else {
        Kind::Text
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn bad(table: &str, column: &str, why: &str) -> StoreError {
    StoreError::BadInput(format!("snapshot table {table}, column {column}: {why}"))
}

/// A value to bind, owned until the statement runs.
enum Val {
    Arg(Arg<'static>),
    Bytes(Vec<u8>),
}

/// `value` as the argument column `c` of `table` takes.
fn arg(table: &str, c: &Column, value: &Value) -> StoreResult<Val> {
    let wrong = || bad(table, &c.name, "a value of the wrong type");
    Ok(Val::Arg(match (c.kind, value) {
        (Kind::Int, Value::Null) => Arg::OptInt(None),
        (Kind::Int, Value::Bool(b)) => Arg::Int(i64::from(*b)),
        (Kind::Int, Value::Number(n)) => Arg::Int(n.as_i64().ok_or_else(wrong)?),
        (Kind::Float, Value::Number(n)) => Arg::Float(n.as_f64().ok_or_else(wrong)?),
        (Kind::Bool, Value::Bool(b)) => Arg::Bool(*b),
        (Kind::Bool, Value::Number(n)) => Arg::Bool(n.as_i64().ok_or_else(wrong)? != 0),
        (Kind::Text | Kind::Json, Value::Null) => Arg::OptOwned(None),
        (Kind::Text | Kind::Json, Value::String(s)) => Arg::Owned(s.clone()),
        (Kind::Bytes, Value::String(s)) => return Ok(Val::Bytes(unhex(s).ok_or_else(wrong)?)),
        _ => return Err(wrong()),
    }))
}

impl<DB: Backend> SqlStore<DB> {
    async fn columns(&self, table: &str) -> StoreResult<Vec<Column>> {
        let rows = sql(DB::TABLE_COLUMNS).bind(table).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let declared = r.text("type")?;
                Ok(Column {
                    name: r.text("name")?,
                    kind: kind(&declared),
                    declared,
                })
            })
            .collect()
    }

    pub(super) async fn snapshot_tables(&self) -> StoreResult<Vec<(String, SnapshotRows)>> {
        let mut tables = Vec::with_capacity(RESET_ORDER.len());
        for table in RESET_ORDER {
            let columns = self.columns(table).await?;
            // Every column, plus whether it is NULL (read as an integer on both backends).
            let select: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let value = match c.kind {
                        Kind::Json => format!("{}{}", c.name, DB::JSON_AS_TEXT),
                        // PostgreSQL INTEGER columns read as BIGINT like the rest.
                        Kind::Int => format!("CAST({} AS BIGINT)", c.name),
                        _ => c.name.clone(),
                    };
                    format!(
                        "{value} AS c{i}, CAST(CASE WHEN {} IS NULL THEN 1 ELSE 0 END AS BIGINT) AS n{i}",
                        c.name
                    )
                })
                .collect();
            // Rows in the order of their integer columns (ids, keys, sequence numbers): the same
            // order on both backends, where text would sort by each one's collation.
            let keys: Vec<String> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == Kind::Int)
                .map(|(i, _)| format!("c{i}"))
                .collect();
            let order = if keys.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", keys.join(", "))
            };
            let rows = sql(format!("SELECT {} FROM {table}{order}", select.join(", ")))
                .fetch_all(&self.pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut object = Map::new();
                for (i, c) in columns.iter().enumerate() {
                    let col = format!("c{i}");
                    let value = if row.int(&format!("n{i}"))? == 1 {
                        Value::Null
                    } else {
                        match c.kind {
                            Kind::Int => Value::from(row.int(&col)?),
                            Kind::Float => Value::from(row.float(&col)?),
                            Kind::Bool => Value::from(row.flag(&col)?),
                            Kind::Text | Kind::Json => Value::from(row.text(&col)?),
                            Kind::Bytes => Value::from(hex(&row.bytes(&col)?)),
                        }
                    };
                    object.insert(c.name.clone(), value);
                }
                out.push(object);
            }
            tables.push(((*table).to_owned(), out));
        }
        Ok(tables)
    }

    /// Replace every table of [`RESET_ORDER`] with `tables` (absent tables end empty), in one
    /// transaction: children emptied first, parents filled first.
    pub(super) async fn restore_tables(&self, tables: &[(String, SnapshotRows)]) -> StoreResult<()> {
        for (name, _) in tables {
            if !RESET_ORDER.contains(&name.as_str()) {
                return Err(StoreError::BadInput(format!(
                    "snapshot has an unknown table: {name}"
                )));
            }
        }
        let messages = messages_under_their_events(tables)?;
        let tickets = tickets_with_update_hours(tables);
        // Every statement is built (and every value checked) before the writer is taken.
        let mut statements: Vec<(String, Vec<Val>)> = Vec::new();
        let mut with_ids = Vec::new();
        for table in RESET_ORDER.iter().rev() {
            let Some((_, rows)) = tables.iter().find(|(name, _)| name == table) else {
                continue;
            };
            let rows = match *table {
                "ticket_messages" => &messages,
                "tickets" => &tickets,
                _ => rows,
            };
            let columns = self.columns(table).await?;
            if columns.iter().any(|c| c.name == "id") {
                with_ids.extend(DB::after_ids_inserted(table));
            }
            for row in rows {
                if let Some(unknown) = row.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
                    return Err(bad(table, unknown, "no such column"));
                }
                let mut names = Vec::new();
                let mut values = Vec::new();
                let mut args = Vec::new();
                for c in columns.iter().filter(|c| row.contains_key(&c.name)) {
                    args.push(arg(table, c, &row[&c.name])?);
                    names.push(c.name.clone());
                    values.push(if c.kind == Kind::Json {
                        format!("CAST(${} AS {})", args.len(), c.declared)
                    } else {
                        format!("${}", args.len())
                    });
                }
                statements.push((
                    format!(
                        "INSERT INTO {table} ({}){} VALUES ({})",
                        names.join(", "),
                        DB::OVERRIDING_IDS,
                        values.join(", ")
                    ),
                    args,
                ));
            }
        }
        let mut tx = self.writer.begin().await?;
        for table in RESET_ORDER {
            sql(format!("DELETE FROM {table}")).execute(&mut tx).await?;
        }
        for (text, args) in &statements {
            let mut statement = sql(text.as_str());
            for a in args {
                statement = statement.bind(match a {
                    Val::Arg(a) => a.clone(),
                    Val::Bytes(b) => Arg::Bytes(b),
                });
            }
            statement.execute(&mut tx).await.map_err(as_bad_input)?;
        }
        for text in with_ids {
            sql(text).fetch_all(&mut tx).await?;
        }
        tx.commit().await
    }
}

/// The snapshot's message rows, each under the row id of its event (the `message` event of its
/// ticket's log with its message id), as migration 0015 keys them: a snapshot taken before it
/// holds ids of their own.
fn messages_under_their_events(tables: &[(String, SnapshotRows)]) -> StoreResult<SnapshotRows> {
    let rows_of = |name: &str| {
        tables
            .iter()
            .find(|(table, _)| table == name)
            .map_or(&[][..], |(_, rows)| rows.as_slice())
    };
    let mut event_rows = std::collections::HashMap::new();
    for e in rows_of("ticket_events") {
        let Some(Value::String(text)) = e.get("event") else {
            continue;
        };
        if let Ok(TicketEvent {
            kind: EventKind::Message { message_id, .. },
            ..
        }) = serde_json::from_str(text)
        {
            event_rows.insert(
                (e.get("ticket_id").and_then(Value::as_i64), message_id),
                e.get("id").cloned(),
            );
        }
    }
    rows_of("ticket_messages")
        .iter()
        .map(|m| {
            let message_id = m.get("message_id").and_then(Value::as_str).unwrap_or_default();
            let key = (m.get("ticket_id").and_then(Value::as_i64), message_id.to_owned());
            let Some(Some(id)) = event_rows.get(&key) else {
                return Err(bad(
                    "ticket_messages",
                    "message_id",
                    "no message event of its ticket has it",
                ));
            };
            let mut row = m.clone();
            row.insert("id".to_owned(), id.clone());
            Ok(row)
        })
        .collect()
}

/// The snapshot's ticket rows, each with the hour of its update time (migration 0016), whatever
/// the snapshot says of it: a snapshot taken before holds none, and the index lists filtered by
/// update time read must agree with `updated_at`.
fn tickets_with_update_hours(tables: &[(String, SnapshotRows)]) -> SnapshotRows {
    let Some((_, rows)) = tables.iter().find(|(table, _)| table == "tickets") else {
        return Vec::new();
    };
    rows.iter()
        .map(|t| {
            let mut row = t.clone();
            let hour = t
                .get("updated_at")
                .and_then(Value::as_i64)
                .map(crate::rows::update_hour);
            row.insert("updated_hour".to_owned(), hour.map_or(Value::Null, Value::from));
            row
        })
        .collect()
}

/// A constraint the snapshot's rows break (a duplicate id, a missing parent, a NULL where none
/// may be) is the snapshot's fault, not an outage.
fn as_bad_input(err: StoreError) -> StoreError {
    match err {
        StoreError::Backend(sqlx::Error::Database(db)) => {
            StoreError::BadInput(format!("snapshot rows refused by the database: {}", db.message()))
        }
        other => other,
    }
}
