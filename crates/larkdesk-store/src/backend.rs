//! What the queries need from sqlx, stated once.
//!
//! Every query is written once (`sql/`), with `$1, $2, …` placeholders, which both PostgreSQL and
//! sqlx's SQLite driver accept. Generic code over sqlx's `Database` would have to repeat a long
//! list of trait bounds (every bound type, the executors, the row indexes) on every function,
//! because Rust does not carry such bounds along with a trait. Instead, queries bind through
//! [`Arg`], run through [`Backend`] and read rows through [`Columns`]; `backend!` below
//! implements those for each backend's concrete types, from one body.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};
use tokio::sync::OwnedMutexGuard;

use crate::dialect::Dialect;
use crate::direct::{Direct, DirectTx, OwnedRow, WriterState};
use crate::{StoreError, StoreResult};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'q> {
    Int(i64),
    OptInt(Option<i64>),
    Float(f64),
    Bool(bool),
    Text(&'q str),
    OptText(Option<&'q str>),
    /// Text made for the query (JSON of a column, say).
    Owned(String),
    OptOwned(Option<String>),
    Bytes(&'q [u8]),
}

macro_rules! arg_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl<'q> From<$t> for Arg<'q> {
            fn from(v: $t) -> Self {
                Arg::$variant(v)
            }
        }
    )*};
}

arg_from!(
    i64 => Int,
    Option<i64> => OptInt,
    f64 => Float,
    bool => Bool,
    &'q str => Text,
    Option<&'q str> => OptText,
    &'q [u8] => Bytes,
    String => Owned,
    Option<String> => OptOwned,
);

impl<'q> From<&'q String> for Arg<'q> {
    fn from(v: &'q String) -> Self {
        Arg::Text(v)
    }
}

impl<'q> From<&'q Option<String>> for Arg<'q> {
    fn from(v: &'q Option<String>) -> Self {
        Arg::OptText(v.as_deref())
    }
}

impl From<larkdesk_domain::ids::TicketId> for Arg<'_> {
    fn from(v: larkdesk_domain::ids::TicketId) -> Self {
        Arg::Int(v.get())
    }
}

impl From<larkdesk_domain::ids::FaqId> for Arg<'_> {
    fn from(v: larkdesk_domain::ids::FaqId) -> Self {
        Arg::Int(v.get())
    }
}

impl From<larkdesk_domain::ids::NotificationId> for Arg<'_> {
    fn from(v: larkdesk_domain::ids::NotificationId) -> Self {
        Arg::Int(v.get())
    }
}

macro_rules! arg_from_row_id {
    ($($t:ident),*) => {$(
        impl From<larkdesk_domain::ids::$t> for Arg<'_> {
            fn from(v: larkdesk_domain::ids::$t) -> Self {
                Arg::Int(v.0)
            }
        }
    )*};
}

arg_from_row_id!(TenantRowId, AppRowId, HelpdeskRowId, UserRowId);

/// Where a query runs: a pool (any connection), a connection the caller holds (a
/// transaction's), or the store's [`Writer`].
pub enum On<'a, DB: Database> {
    Pool(&'a Pool<DB>),
    Conn(&'a mut DB::Connection),
    /// The store's writer: on a SQLite file, its one connection, waited for in turn.
    Writer(&'a Writer<DB>),
    /// A SQLite write transaction's connection ([`crate::direct`]).
    Direct(&'a Direct, &'a mut rusqlite::Connection),
    /// A direct SQLite reader, on this thread: for reads whose cost is bounded ([`crate::direct`]).
    Reader(&'a Direct),
}

/// Where sqlx runs a query.
pub enum Exec<'a, DB: Database> {
    Pool(&'a Pool<DB>),
    Conn(&'a mut DB::Connection),
}

impl<'a, DB: Database> From<&'a Pool<DB>> for On<'a, DB> {
    fn from(pool: &'a Pool<DB>) -> Self {
        On::Pool(pool)
    }
}

impl<'a, 't, DB: Database> From<&'a mut Transaction<'t, DB>> for On<'a, DB> {
    fn from(tx: &'a mut Transaction<'t, DB>) -> Self {
        On::Conn(&mut **tx)
    }
}

impl<'a, DB: Database> From<&'a mut PoolConnection<DB>> for On<'a, DB> {
    fn from(conn: &'a mut PoolConnection<DB>) -> Self {
        On::Conn(&mut **conn)
    }
}

impl<'a, DB: Database> From<&'a Writer<DB>> for On<'a, DB> {
    fn from(writer: &'a Writer<DB>) -> Self {
        On::Writer(writer)
    }
}

impl<'a, DB: Database> From<&'a mut WriteTx<DB>> for On<'a, DB> {
    fn from(tx: &'a mut WriteTx<DB>) -> Self {
        match tx {
            WriteTx::Sqlx(tx) => On::Conn(&mut **tx),
            WriteTx::Direct(tx) => {
                let (db, conn) = tx.parts();
                On::Direct(db, conn)
            }
        }
    }
}

/// What a store writes through: sqlx's writer pool, or on a SQLite file the one direct writer
/// connection ([`crate::direct`]).
pub struct Writer<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) direct: Option<Arc<Direct>>,
}

impl<DB: Backend> Writer<DB> {
    /// Begin a transaction that changes tickets ([`Dialect::begin_write`]).
    pub async fn begin(&self) -> StoreResult<WriteTx<DB>> {
        Ok(match &self.direct {
            Some(direct) => WriteTx::Direct(direct.begin().await?),
            None => WriteTx::Sqlx(DB::begin_write(&self.pool).await?),
        })
    }
}

/// A write transaction; rolled back when dropped uncommitted.
pub enum WriteTx<DB: Database> {
    Sqlx(Transaction<'static, DB>),
    Direct(DirectTx),
}

impl<DB: Database> WriteTx<DB> {
    pub async fn commit(self) -> StoreResult<()> {
        match self {
            WriteTx::Sqlx(tx) => Ok(tx.commit().await?),
            WriteTx::Direct(tx) => tx.commit().await,
        }
    }
}

/// A result row, from sqlx or from a direct SQLite connection.
pub enum Row<DB: Database> {
    Sqlx(DB::Row),
    Direct(OwnedRow),
}

macro_rules! delegate_columns {
    ($($name:ident -> $t:ty),* $(,)?) => {
        impl<DB: Database<Row: Columns>> Columns for Row<DB> {
            $(fn $name(&self, col: &str) -> StoreResult<$t> {
                match self {
                    Row::Sqlx(row) => row.$name(col),
                    Row::Direct(row) => row.$name(col),
                }
            })*
        }
    };
}

delegate_columns!(
    text -> String,
    opt_text -> Option<String>,
    int -> i64,
    opt_int -> Option<i64>,
    float -> f64,
    flag -> bool,
    bytes -> Vec<u8>,
);

/// Typed access to a result row's columns by name. Flags are booleans whatever the backend
/// stores (SQLite INTEGER 0/1, PostgreSQL BOOLEAN); JSON columns are selected as text.
pub trait Columns {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn float(&self, col: &str) -> StoreResult<f64>;
    fn flag(&self, col: &str) -> StoreResult<bool>;
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>>;
}

/// A database larkdesk runs on: its dialect, plus running queries.
pub trait Backend: Dialect + Database<Row: Columns> {
    fn fetch_all<'a>(
        sql: &'a str,
        args: Vec<Arg<'a>>,
        on: Exec<'a, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a;

    fn fetch_optional<'a>(
        sql: &'a str,
        args: Vec<Arg<'a>>,
        on: Exec<'a, Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a;

    /// Rows affected.
    fn execute<'a>(
        sql: &'a str,
        args: Vec<Arg<'a>>,
        on: Exec<'a, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;
}

macro_rules! backend {
    ($db:ty, $row:ty) => {
        impl Backend for $db {
            fn fetch_all<'a>(
                sql: &'a str,
                args: Vec<Arg<'a>>,
                on: Exec<'a, Self>,
            ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a {
                let query = bind(sqlx::query(sql), args);
                async move {
                    match on {
                        Exec::Pool(pool) => query.fetch_all(pool).await,
                        Exec::Conn(conn) => query.fetch_all(conn).await,
                    }
                }
            }

            fn fetch_optional<'a>(
                sql: &'a str,
                args: Vec<Arg<'a>>,
                on: Exec<'a, Self>,
            ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a {
                let query = bind(sqlx::query(sql), args);
                async move {
                    match on {
                        Exec::Pool(pool) => query.fetch_optional(pool).await,
                        Exec::Conn(conn) => query.fetch_optional(conn).await,
                    }
                }
            }

            fn execute<'a>(
                sql: &'a str,
                args: Vec<Arg<'a>>,
                on: Exec<'a, Self>,
            ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
                let query = bind(sqlx::query(sql), args);
                async move {
                    let done = match on {
                        Exec::Pool(pool) => query.execute(pool).await?,
                        Exec::Conn(conn) => query.execute(conn).await?,
                    };
                    Ok(done.rows_affected())
                }
            }
        }

        impl Columns for $row {
            fn text(&self, col: &str) -> StoreResult<String> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn int(&self, col: &str) -> StoreResult<i64> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn float(&self, col: &str) -> StoreResult<f64> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn flag(&self, col: &str) -> StoreResult<bool> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
        }
    };
}

/// Bind `args` in order (called with each backend's concrete types, where the bounds hold).
fn bind<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    args: Vec<Arg<'q>>,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::OptInt(v) => query.bind(v),
            Arg::Float(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Owned(v) => query.bind(v),
            Arg::OptOwned(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

backend!(sqlx::Sqlite, sqlx::sqlite::SqliteRow);
backend!(sqlx::Postgres, sqlx::postgres::PgRow);

/// A query: its text, written once for every backend, and its arguments.
pub(crate) struct Sql<'q> {
    text: Cow<'q, str>,
    args: Vec<Arg<'q>>,
}

/// Start a query.
pub(crate) fn sql<'q>(text: impl Into<Cow<'q, str>>) -> Sql<'q> {
    Sql {
        text: text.into(),
        args: Vec::new(),
    }
}

impl<'q> Sql<'q> {
    /// Bind the next placeholder.
    pub fn bind(mut self, arg: impl Into<Arg<'q>>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub async fn fetch_all<'a, DB: Backend>(self, on: impl Into<On<'a, DB>>) -> StoreResult<Vec<Row<DB>>> {
        match on.into().target().await? {
            Target::Direct(db, conn) => Ok(db
                .run(conn.get(), &self.text, &self.args)?
                .into_iter()
                .map(Row::Direct)
                .collect()),
            Target::Reader(db) => Ok(db
                .read(&self.text, &self.args)?
                .into_iter()
                .map(Row::Direct)
                .collect()),
            Target::Sqlx(exec) => {
                let rows = DB::fetch_all(&self.text, self.args, exec).await?;
                Ok(rows.into_iter().map(Row::Sqlx).collect())
            }
        }
    }

    pub async fn fetch_optional<'a, DB: Backend>(
        self,
        on: impl Into<On<'a, DB>>,
    ) -> StoreResult<Option<Row<DB>>> {
        match on.into().target().await? {
            Target::Direct(db, conn) => Ok(db
                .run(conn.get(), &self.text, &self.args)?
                .into_iter()
                .next()
                .map(Row::Direct)),
            Target::Reader(db) => Ok(db
                .read(&self.text, &self.args)?
                .into_iter()
                .next()
                .map(Row::Direct)),
            Target::Sqlx(exec) => Ok(DB::fetch_optional(&self.text, self.args, exec)
                .await?
                .map(Row::Sqlx)),
        }
    }

    /// The one row a lookup finds; `NotFound` when there is none.
    pub async fn fetch_one<'a, DB: Backend>(self, on: impl Into<On<'a, DB>>) -> StoreResult<Row<DB>> {
        self.fetch_optional(on).await?.ok_or(StoreError::NotFound)
    }

    /// Rows affected.
    pub async fn execute<'a, DB: Backend>(self, on: impl Into<On<'a, DB>>) -> StoreResult<u64> {
        match on.into().target().await? {
            Target::Direct(db, conn) => Ok(db.run_counting(conn.get(), &self.text, &self.args)?.1),
            // A reader is `query_only`: a statement that would change something fails.
            Target::Reader(db) => db.read(&self.text, &self.args).map(|_| 0),
            Target::Sqlx(exec) => Ok(DB::execute(&self.text, self.args, exec).await?),
        }
    }
}

/// Where a query runs once its [`On`] is settled: a direct SQLite connection, or sqlx.
enum Target<'a, DB: Database> {
    Direct(&'a Direct, DirectConn<'a>),
    Reader(&'a Direct),
    Sqlx(Exec<'a, DB>),
}

/// A direct connection: the one a transaction holds, or the store's writer, taken in turn for
/// one statement.
enum DirectConn<'a> {
    Held(&'a mut rusqlite::Connection),
    Writer(OwnedMutexGuard<WriterState>),
}

impl DirectConn<'_> {
    fn get(&self) -> &rusqlite::Connection {
        match self {
            DirectConn::Held(conn) => conn,
            DirectConn::Writer(state) => state.conn(),
        }
    }
}

impl<'a, DB: Database> On<'a, DB> {
    async fn target(self) -> StoreResult<Target<'a, DB>> {
        Ok(match self {
            On::Direct(db, conn) => Target::Direct(db, DirectConn::Held(conn)),
            On::Reader(db) => Target::Reader(db),
            On::Writer(Writer { direct: Some(db), .. }) => {
                Target::Direct(db, DirectConn::Writer(db.writer().await?))
            }
            On::Writer(w) => Target::Sqlx(Exec::Pool(&w.pool)),
            On::Pool(pool) => Target::Sqlx(Exec::Pool(pool)),
            On::Conn(conn) => Target::Sqlx(Exec::Conn(conn)),
        })
    }
}

/// Build a query whose text depends on its arguments (filters, multi-row inserts): each
/// [`Builder::arg`] writes the next placeholder and keeps the value for it.
pub(crate) struct Builder<'q> {
    text: String,
    args: Vec<Arg<'q>>,
    /// How this backend spells the n-th placeholder ([`Dialect::placeholder`]).
    placeholder: fn(usize) -> String,
}

impl<'q> Builder<'q> {
    pub fn new<DB: Backend>(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
            placeholder: DB::placeholder,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// A placeholder for `arg`.
    pub fn arg(&mut self, arg: impl Into<Arg<'q>>) -> &mut Self {
        let placeholder = self.placeholder(arg);
        self.text.push_str(&placeholder);
        self
    }

    /// Keep `arg` for the next placeholder and return that placeholder (`$n`), for text the
    /// caller writes itself.
    pub fn placeholder(&mut self, arg: impl Into<Arg<'q>>) -> String {
        self.args.push(arg.into());
        (self.placeholder)(self.args.len())
    }

    /// `$a, $b, …` for `args`.
    pub fn args<A: Into<Arg<'q>>>(&mut self, args: impl IntoIterator<Item = A>) -> &mut Self {
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.arg(arg);
        }
        self
    }

    /// The text so far (for tests that ask the database how it would run a query).
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn build(self) -> Sql<'q> {
        Sql {
            text: Cow::Owned(self.text),
            args: self.args,
        }
    }
}
