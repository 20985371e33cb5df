//! What differs between SQLite and PostgreSQL, and nothing else: how a pool is opened and
//! migrated, how a writer locks, and the few SQL fragments that have no common spelling (JSON
//! lists, row locks). Every query lives in `sql/`, written once.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Database, Pool, Postgres, Sqlite, Transaction};

use crate::direct::Direct;
use crate::{StoreResult, Workload};

pub trait Dialect: Database {
    /// The migrations this build brings for the backend.
    fn migrator() -> sqlx::migrate::Migrator;
    /// Open the pools for `workload`, readers (at most `max_connections`) and writers, and bring
    /// the schema up to date. SQLite has one writer at a time whatever larkdesk does, so its
    /// writes go through a pool of one connection: they queue in arrival order (sqlx's pool is
    /// fair) instead of retrying the file lock in SQLite's busy handler, which gives up after its
    /// timeout ("database is locked") and favours no one. PostgreSQL's writers share the pool.
    fn open(
        url: &str,
        max_connections: u32,
        workload: Workload,
    ) -> impl Future<Output = anyhow::Result<Pools<Self>>> + Send;

    /// Begin a transaction that changes tickets. Concurrent changes to one ticket serialize:
    /// SQLite takes the database's write lock here (`BEGIN IMMEDIATE`), PostgreSQL locks the
    /// ticket's row when it is read ([`Dialect::FOR_UPDATE`]).
    fn begin_write(pool: &Pool<Self>)
    -> impl Future<Output = StoreResult<Transaction<'static, Self>>> + Send;

    /// Ends a SELECT of a row the transaction is about to change.
    const FOR_UPDATE: &'static str;
    /// Ends the SELECT of the outbox rows a delivery worker claims.
    const SKIP_LOCKED: &'static str;
    /// Follows a placeholder whose JSON text is written into a JSON list column.
    const TO_JSON: &'static str;
    /// Follows a JSON list column that is read as text.
    const JSON_AS_TEXT: &'static str;
    /// The columns of table `$1` in order, as `name` and upper-case declared `type` (snapshots).
    const TABLE_COLUMNS: &'static str;
    /// Between an INSERT's column list and its VALUES when the ids are given (snapshots).
    const OVERRIDING_IDS: &'static str;
    /// After rows with given ids were inserted into `table`: the statement that moves its id
    /// generator past them, if the backend needs one. It never moves it back: a row id is not
    /// handed out twice, so an access token naming an app row that a restore removed cannot
    /// come to name a new app.
    fn after_ids_inserted(table: &str) -> Option<String>;
    /// The content of the message whose log entry is `e` (a `ticket_events` row): its event's
    /// `content` field. A message's content is stored once, in its event (see
    /// `sql::tickets::insert_messages`).
    const MESSAGE_CONTENT: &'static str;
    /// Joins, to ticket row `t`, the directory profiles (`p`, [`crate::rows::USER_COLUMNS`]) of
    /// everyone it names, tenant `$3`: one row per profile, or one row of NULLs.
    const PEOPLE_OF_TICKET: &'static str;
    /// Taken first by a transaction that adds several people to the directory, where two such
    /// transactions naming the same people in another order could deadlock.
    const LOCK_DIRECTORY: Option<&'static str>;

    /// The `n`-th placeholder (from 1) of a generated statement. Hand-written statements use
    /// `$n`, which both backends accept; but SQLite keeps numbered and named placeholders in a
    /// list it searches on every bind, which a multi-row insert of 28,000 of them turns into
    /// seconds, while plain `?` it binds by position.
    fn placeholder(n: usize) -> String;
    /// The strings of the JSON list bound at `placeholder`, as a subquery.
    fn json_strings(placeholder: &str) -> String;
    /// A condition: the JSON list of strings `column` holds the one at `placeholder`.
    fn json_list_has(column: &str, placeholder: &str) -> String;
    /// A condition: the JSON list of `{id, name}` tags `column` has a tag named by any of
    /// `placeholders`.
    fn tags_named_any(column: &str, placeholders: &[String]) -> String;
    /// A condition: the search text of FAQ row `f` is LIKE the pattern at `placeholder` (SQLite
    /// asks its FTS5 trigram table, PostgreSQL the column, under its trigram index).
    fn faq_text_like(placeholder: &str) -> String;

    /// After a bulk load: refresh the planner's statistics and write the load out.
    fn finish_bulk_load(pool: &Pool<Self>) -> impl Future<Output = StoreResult<()>> + Send;
    /// How many bulk-load batches to write at once.
    fn bulk_load_jobs(max_connections: u32) -> usize;
}

/// A bulk load's multi-row inserts and its closing ANALYZE and checkpoint take seconds by design,
/// so sqlx's "slow statement" warning (which prints the whole statement, tens of KiB of SQL)
/// is only a debug line there.
const BULK_SLOW_STATEMENT: Duration = Duration::from_secs(1);
const BULK_SLOW_STATEMENT_LEVEL: log::LevelFilter = log::LevelFilter::Debug;

/// The pools a store runs queries on.
pub struct Pools<DB: Database> {
    pub readers: Pool<DB>,
    pub writer: Pool<DB>,
    /// A SQLite file's point reads and its one writer, on the caller's thread ([`crate::direct`]).
    pub direct: Option<Arc<Direct>>,
}

/// How long a SQLite write waits in the queue for the writer connection before failing: long
/// enough that a burst queues rather than fails, short enough that a request does not hang.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request waits for a pooled PostgreSQL connection before failing: a database that
/// is down fails requests fast instead of hanging them.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out: the server
/// may have closed it meanwhile (a restart, a proxy's idle timeout), and a dead one is then
/// replaced instead of failing a request. One in steady use is not: sqlx's default pings on
/// every acquire, a round trip more for each request (a `GET /tickets/:id` then made two).
const PG_PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Key of the transaction-level advisory lock that directory-writing transactions take.
const PG_DIRECTORY_LOCK: &str = "SELECT pg_advisory_xact_lock(7809649034408588139)"; // 0x6c61726b6465736b, "larkdesk"

impl Dialect for Sqlite {
    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    async fn open(url: &str, max_connections: u32, workload: Workload) -> anyhow::Result<Pools<Self>> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let options = match workload {
            Workload::Serving => options.synchronous(SqliteSynchronous::Normal),
            // A bulk load spends most of its time in fsync and in spilling its 2 MiB page cache
            // mid-transaction (2.5x faster at 100k tickets without either; bench/results/BENCHMARKS-history-to-2026-12-04.md).
            Workload::BulkLoad => options
                .log_slow_statements(BULK_SLOW_STATEMENT_LEVEL, BULK_SLOW_STATEMENT)
                .synchronous(SqliteSynchronous::Off)
                .pragma("cache_size", "-524288")
                .pragma("temp_store", "memory"),
        };
        // A file connection cannot go stale the way a socket can, and sqlx's ping is a round
        // trip to the connection's thread on every acquire.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WRITE_QUEUE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let migrator = sqlx::migrate!("./migrations/sqlite");
        let applied = sqlx::query_scalar(APPLIED_MIGRATIONS).fetch_all(&writer);
        run_migrations(&migrator, applied, migrator.run(&writer)).await?;
        analyze_new_indexes(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // An in-memory database exists only inside its sqlx connections.
        let file = options.get_filename();
        let direct = match workload {
            Workload::Serving if !crate::sqlite_file::in_memory(url, file) => Some(Direct::open(file)?),
            _ => None,
        };
        Ok(Pools {
            readers,
            writer,
            direct,
        })
    }

    async fn begin_write(pool: &Pool<Self>) -> StoreResult<Transaction<'static, Self>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const TO_JSON: &'static str = "";
    const JSON_AS_TEXT: &'static str = "";
    const TABLE_COLUMNS: &'static str =
        "SELECT name, upper(type) AS type FROM pragma_table_info($1) ORDER BY cid";
    const OVERRIDING_IDS: &'static str = "";
    fn after_ids_inserted(_table: &str) -> Option<String> {
        None
    }
    const MESSAGE_CONTENT: &'static str = "json_extract(e.event, '$.content')";
    // SQLite looks each person up in the users' unique index (tenant_id, open_id).
    const PEOPLE_OF_TICKET: &'static str = "LEFT JOIN users p ON p.tenant_id = $3 AND p.open_id IN (
             SELECT t.guest_id UNION ALL SELECT t.closed_by_id UNION ALL SELECT t.agent_owner_id
             UNION ALL SELECT value FROM json_each(t.agent_ids)
             UNION ALL SELECT value FROM json_each(t.collaborator_ids))";
    // One writer at a time already.
    const LOCK_DIRECTORY: Option<&'static str> = None;

    fn placeholder(_: usize) -> String {
        "?".to_owned()
    }

    fn json_strings(placeholder: &str) -> String {
        format!("SELECT value FROM json_each({placeholder})")
    }

    fn json_list_has(column: &str, placeholder: &str) -> String {
        format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = {placeholder})")
    }

    fn tags_named_any(column: &str, placeholders: &[String]) -> String {
        format!(
            "EXISTS (SELECT 1 FROM json_each({column}) WHERE json_extract(value, '$.name') IN ({}))",
            placeholders.join(", ")
        )
    }

    fn faq_text_like(placeholder: &str) -> String {
        format!("f.id IN (SELECT rowid FROM faq_fts WHERE search_text LIKE {placeholder})")
    }

    async fn finish_bulk_load(pool: &Pool<Self>) -> StoreResult<()> {
        // A sampled ANALYZE: seconds even at millions of rows. Then the WAL goes into the
        // database file and both are synced (`synchronous = FULL` makes the checkpoint sync):
        // a bulk load leaves gigabytes of dirty pages otherwise, which the kernel writes back
        // for minutes afterwards, while the server that opens the file next is being measured.
        sqlx::raw_sql(
            "PRAGMA analysis_limit = 1000; ANALYZE;
             PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    fn bulk_load_jobs(_: u32) -> usize {
        // One writer: more batches at once would only wait for its lock.
        1
    }
}

impl Dialect for Postgres {
    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }

    /// Several instances may start at once: sqlx serializes migrations with an advisory lock.
    async fn open(url: &str, max_connections: u32, workload: Workload) -> anyhow::Result<Pools<Self>> {
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
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PG_PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        let migrator = sqlx::migrate!("./migrations/postgres");
        let applied = sqlx::query_scalar(APPLIED_MIGRATIONS).fetch_all(&pool);
        run_migrations(&migrator, applied, migrator.run(&pool)).await?;
        Ok(Pools {
            readers: pool.clone(),
            writer: pool,
            direct: None,
        })
    }

    async fn begin_write(pool: &Pool<Self>) -> StoreResult<Transaction<'static, Self>> {
        Ok(pool.begin().await?)
    }

    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const TO_JSON: &'static str = "::jsonb";
    const JSON_AS_TEXT: &'static str = "::text";
    const TABLE_COLUMNS: &'static str = "SELECT column_name::text AS name, upper(data_type)::text AS type
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
    const OVERRIDING_IDS: &'static str = " OVERRIDING SYSTEM VALUE";
    fn after_ids_inserted(table: &str) -> Option<String> {
        Some(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                    GREATEST(COALESCE(MAX(id), 0) + 1, nextval(pg_get_serial_sequence('{table}', 'id'))), false)
             FROM {table}"
        ))
    }
    // `json`, not `jsonb`: only the one field is taken, so the text is not converted first.
    const MESSAGE_CONTENT: &'static str = "(e.event::json ->> 'content')";
    // The people are gathered into one array per ticket first (`named`, fenced by `OFFSET 0`):
    // with the array inside the users' WHERE clause, a planner without statistics on `users`
    // scanned the tenant's users and re-ran the `jsonb_array_elements_text` subquery for each of
    // them (3 ms at 1,000 users). With statistics, `open_id = ANY(named.ids)` is a lookup in the
    // users' unique index; without, at worst a scan with a cheap filter.
    const PEOPLE_OF_TICKET: &'static str = "CROSS JOIN LATERAL (
             SELECT ARRAY[t.guest_id, t.closed_by_id, t.agent_owner_id]
                 || ARRAY(SELECT jsonb_array_elements_text(t.agent_ids || t.collaborator_ids)) AS ids
             OFFSET 0
         ) named
         LEFT JOIN LATERAL (
             SELECT open_id, name, avatar_url, email, department, city, country, is_agent
             FROM users u WHERE u.tenant_id = $3 AND u.open_id = ANY(named.ids)
         ) p ON TRUE";
    // Two imports naming the same new people in another order would deadlock; imports are rare
    // (admin, demo data), so they simply take turns, as every SQLite writer does.
    const LOCK_DIRECTORY: Option<&'static str> = Some(PG_DIRECTORY_LOCK);

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn json_strings(placeholder: &str) -> String {
        format!("SELECT jsonb_array_elements_text({placeholder}::jsonb)")
    }

    fn json_list_has(column: &str, placeholder: &str) -> String {
        // `["<value>"]` is contained in the list: the list has that element (a GIN lookup).
        format!("{column} @> jsonb_build_array({placeholder}::text)")
    }

    fn tags_named_any(column: &str, placeholders: &[String]) -> String {
        // One containment test per name, each one a GIN lookup.
        let tests: Vec<String> = placeholders
            .iter()
            .map(|p| format!("{column} @> jsonb_build_array(jsonb_build_object('name', {p}::text))"))
            .collect();
        format!("({})", tests.join(" OR "))
    }

    fn faq_text_like(placeholder: &str) -> String {
        format!("f.search_text LIKE {placeholder}")
    }

    async fn finish_bulk_load(pool: &Pool<Self>) -> StoreResult<()> {
        // VACUUM also sets the visibility map, which index-only scans (the list counts) need.
        // It cannot run in a transaction, hence the simple-query protocol. `users` too: a bulk
        // load adds its people, and GET ticket's plan depends on how many there are. Until
        // autovacuum gets to a freshly loaded table, the planner believes it nearly empty and
        // sorts every match of a list filter (seconds at a million tickets).
        sqlx::raw_sql("VACUUM (ANALYZE) tickets, ticket_events, ticket_messages, users")
            .execute(pool)
            .await?;
        Ok(())
    }

    fn bulk_load_jobs(max_connections: u32) -> usize {
        // Each batch is written by its own server process: one per core keeps them busy. The
        // server usually shares the machine in a load (benchmarks, demos); a remote one would
        // take more, which `--jobs` gives.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores.min(max_connections.max(1) as usize)
    }
}

/// The indexes of tables the query planner has statistics for that have none themselves: ones a
/// migration created after the statistics were gathered (a bulk load's `ANALYZE`).
const UNANALYZED_INDEXES: &str = "SELECT i.name FROM sqlite_schema i
     WHERE i.type = 'index' AND i.tbl_name IN (SELECT tbl FROM sqlite_stat1)
       AND i.name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)";

/// Give such indexes their statistics (sampled, as a bulk load's), if the database keeps any.
/// The planner takes an index without statistics beside indexes with them for the most
/// selective: migration 0016's index on (helpdesk_id, updated_hour) then served every ticket
/// page, sorting the whole helpdesk (seconds a page at a million tickets). A database without
/// statistics is left without: the planner then weighs every index alike.
async fn analyze_new_indexes(pool: &Pool<Sqlite>) -> StoreResult<()> {
    let keeps_statistics: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'")
            .fetch_optional(pool)
            .await?;
    if keeps_statistics.is_none() {
        return Ok(());
    }
    let indexes: Vec<String> = sqlx::query_scalar(UNANALYZED_INDEXES).fetch_all(pool).await?;
    for index in indexes {
        tracing::info!(index, "gathering the query planner's statistics for an index");
        let quoted = index.replace('"', "\"\"");
        sqlx::raw_sql(&format!("PRAGMA analysis_limit = 1000; ANALYZE \"{quoted}\";"))
            .execute(pool)
            .await?;
    }
    Ok(())
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

/// Run `migrate`, saying first which migrations an existing database is about to get: one may
/// rewrite its largest tables (0006 on SQLite took four minutes at a million tickets), and a
/// server that says nothing until then looks hung. A new database gets its whole schema in a
/// moment and is not announced. `applied`: [`APPLIED_MIGRATIONS`] on the pool (it fails on a
/// new database: nothing applied).
async fn run_migrations(
    migrator: &sqlx::migrate::Migrator,
    applied: impl Future<Output = Result<Vec<i64>, sqlx::Error>>,
    migrate: impl Future<Output = Result<(), sqlx::migrate::MigrateError>>,
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
        let pending = pending_migrations(&sqlite, &[1, 2, 3, 4, 5]);
        assert_eq!(
            pending[..4],
            [
                "0006 tickets keyed by ticket id",
                "0007 ticket log state",
                "0008 agents skills categories",
                "0009 faqs and notifications"
            ]
        );
        // Later migrations follow, each named.
        assert_eq!(pending.len(), sqlite.iter().filter(|m| m.version > 5).count());
        assert!(
            pending.iter().any(|p| p == "0011 app wire profile"),
            "{pending:?}"
        );
        let all: Vec<i64> = sqlite.iter().map(|m| m.version).collect();
        assert!(pending_migrations(&sqlite, &all).is_empty());
        assert_eq!(pending_migrations(&sqlite, &[]).len(), all.len());
    }
}
