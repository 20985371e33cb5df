//! SQLite on the caller's thread: point reads and the one writer.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands the statement, then every
//! row, across channels. An uncached `GET /tickets/:id` (one statement, 2–4 rows) paid four
//! thread hand-offs, and a message write (about ten statements) about thirty context switches
//! and 450 µs of CPU, most of it in the kernel: the hand-offs cost more than SQLite's own work.
//! A statement on a local file takes microseconds, less than one hand-off, so on a SQLite file:
//!
//! - **Reads whose cost is bounded** (one ticket by id; a list page of the unfiltered list or
//!   a creation-time range, one index range of at most 10,000 entries; not filtered lists,
//!   which can scan) run on a rusqlite connection taken from a small idle list, on the
//!   calling thread, which blocks for that long. Everything else reads through sqlx.
//! - **A reader reads on from its snapshot while nothing was committed**: it keeps its read
//!   transaction open between reads as long as no connection, of this process or another,
//!   committed since the transaction began, which the header of the log's index tells
//!   ([`crate::wal_index`]: a few loads from shared memory). Beginning and ending a read
//!   transaction is two `fcntl` locks on the log's index, often an `fstat`, and SQLite's checks
//!   of the file's header: on a VM where system calls are dear, a third of an uncached GET's
//!   server CPU (44–53 µs a GET at a million tickets before, 27–37 after); a burst of reads
//!   between two commits now pays it once. A read never misses a commit completed before it
//!   began (the writer acknowledges a change only after its commit, and SQLite publishes a
//!   commit in that header before `COMMIT` returns). Idle readers' snapshots are ended when a
//!   commit makes them old and before every checkpoint pass, so that none keeps the
//!   checkpointer from copying the log or the log from starting again.
//! - **Every write** runs on the one writer connection here. Writers wait for it in a fair
//!   (FIFO) queue, an async mutex, so a burst queues in arrival order and none meets SQLite's
//!   "database is locked"; a change's statements run on the holder's thread without yielding.
//! - **Group commit.** Most of a commit's cost is writing the pages it changed to the log, and
//!   changes to different tickets share many of them (index and table tails, interior pages).
//!   So a transaction does not commit alone: it ends its
//!   change (a SAVEPOINT, released) and leaves the database transaction open for the writers
//!   behind it, then queues again; the first of the group to get its turn again
//!   commits it for everyone in it. A writer is answered only after its group committed (an
//!   acknowledged write is a committed write), a change that fails rolls back to its savepoint
//!   alone, and a group is at most [`MAX_GROUP`] changes. A writer yields once before it
//!   commits: with one runtime thread no writer ever *waits* for the connection (a change
//!   never yields while it holds it), so the group is the writers ready to run by then; alone,
//!   it commits after that one yield.
//! - **A commit's log frames are written at once**, in a few writes of up to 96 KiB, not two
//!   writes per page: every connection here opens the file through the VFS of
//!   [`crate::log_writes`], which gathers the frames SQLite appends to the log until a commit's
//!   last one (message posts to 100k tickets at 64 connections: 5–19% more a second in four
//!   alternating rounds, 7–10 µs less kernel CPU each).
//! - **Checkpoints** (copying the write-ahead log back into the database file, the one step of
//!   a SQLite commit that can take milliseconds) run on a thread of their own every
//!   [`CHECKPOINT_EVERY`], never inside a commit (`wal_autocheckpoint = 0` on the writer), and
//!   start the log again from its beginning once it is long (see [`checkpoints`]).
//!
//! The statement text is the very one sqlx runs: `$n` placeholders are SQLite's named
//! parameters, bound here by name as sqlx binds them (generated statements use plain `?`,
//! bound by position); rows come back as [`OwnedRow`], which implements [`Columns`], so
//! `rows.rs` decodes them with the same code.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::OwnedMutexGuard;

use crate::backend::{Arg, Columns};
use crate::wal_index::{Version, WalIndex};
use crate::{StoreError, StoreResult};

/// Idle readers kept; a burst beyond this opens more and closes them after.
const MAX_IDLE: usize = 8;
/// As sqlx's connections: how long a statement waits for a lock held by another process (in
/// this one, writers queue for the writer connection, and WAL readers never wait for writers).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of the file a connection maps: pages are read through the map rather than by a
/// read() and a copy each. The whole file, whatever its size (SQLite maps no more than the file;
/// the bundled SQLite is built with a 1 TiB cap, `.cargo/config.toml`, instead of its 2 GiB): a
/// million tickets make a 6 GB file, and with 1 GiB mapped a random ticket's page was mostly
/// read past the map.
const MMAP_SIZE: i64 = 1 << 40;
/// How often the checkpointer copies the log into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// A log of at least this many frames (4 KiB pages, so 64 MiB) is started again from its
/// beginning once copied (see [`checkpoints`]). Under a light load the log starts again by
/// itself, as soon as a checkpoint finds no write in progress; this is for a steady stream of
/// writes, where each restart holds the writers up for one short pass: the larger, the rarer.
/// But the larger, the longer a fresh log file grows (each new block zeroed by the kernel) and
/// the more of it the page cache holds: message posts at 64 connections to a million tickets,
/// in eight alternating rounds (`bench/posts-ab.sh`), were faster at this than at 65,536 frames
/// in six (4.6–6.5k a second against 3.8–6.0k) and their p99 lower in all eight (23–34 ms
/// against 29–43); at 100k tickets the two were alike. 4,096 frames did no better.
const RESTART_LOG_AT: i64 = 16_384;
/// How often the checkpointer runs and how long a log it starts again (tests take other ones).
#[derive(Debug, Clone, Copy)]
struct CheckpointPolicy {
    every: Duration,
    restart_at: i64,
    catch_up_passes: usize,
    catch_up_syncs: usize,
    log_size_limit: u64,
    cut_step: u64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every: CHECKPOINT_EVERY,
            restart_at: RESTART_LOG_AT,
            catch_up_passes: CATCH_UP_PASSES,
            catch_up_syncs: CATCH_UP_SYNCS,
            log_size_limit: LOG_SIZE_LIMIT,
            cut_step: CUT_STEP,
        }
    }
}

/// Checkpoint passes made while writes go on, before the one they wait for, at most...
const CATCH_UP_PASSES: usize = 64;
/// ...and syncs of the database file between them, at most...
const CATCH_UP_SYNCS: usize = 16;
/// ...a pass (copying) or a sync quicker than this having caught up.
const QUICK_PASS: Duration = Duration::from_millis(5);
/// How long a change waits before its turn while the checkpointer's second and later syncs of
/// a catch-up run (see [`catch_up`]).
const BRAKE: Duration = Duration::from_millis(2);
/// The size a log file that grew beyond it is cut back to once it started again (see
/// [`cut_back`]). Well above [`RESTART_LOG_AT`]: a log cut back under a steady stream of writes
/// grows again at once, and growing a file costs the kernel more than writing over it (message
/// posts at 64 connections, restarting at 4,096 frames: about 5.6k a second with a 256 MiB
/// limit, 6.5k with this).
const LOG_SIZE_LIMIT: u64 = 1 << 30;
/// The most of the log file one cut removes, while the writers wait.
const CUT_STEP: u64 = 64 << 20;
/// The most changes one commit takes: as many as the connections a benchmark keeps busy (64
/// posted 4% more messages a second than 32, each group sharing more pages).
pub const MAX_GROUP: usize = 64;
/// Failed group commits remembered for the writers of those groups that have yet to ask.
const FAILED_GROUPS_KEPT: usize = 64;
/// Statements whose column positions are remembered (generated statements vary; the cache is
/// emptied when it reaches this).
const MAX_KNOWN_STATEMENTS: usize = 256;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;
/// A reader connection, and the read transaction it keeps open between reads if it does.
struct Reader {
    conn: Connection,
    /// The log index's header when the open read transaction began, if it is to be read on
    /// from: its snapshot holds every commit published by then.
    snapshot: Option<Version>,
}

impl Reader {
    /// End the open read transaction, if any. An error if the connection is left in a
    /// transaction: it is then closed, not used again.
    fn end_snapshot(&mut self) -> rusqlite::Result<()> {
        self.snapshot = None;
        if self.conn.is_autocommit() {
            return Ok(());
        }
        let end = |sql| self.conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
        match end("COMMIT") {
            Err(err) if end("ROLLBACK").is_err() || !self.conn.is_autocommit() => Err(err),
            _ => Ok(()),
        }
    }
}

/// End the read transactions that idle readers keep open.
fn end_idle_snapshots(idle: &Mutex<Vec<Reader>>) {
    let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
    idle.retain_mut(|reader| reader.end_snapshot().is_ok());
}

/// One SQLite database file: its readers, its writer and its checkpointer.
pub struct Direct {
    path: PathBuf,
    /// Readers not in use; the checkpointer ends their snapshots before each pass.
    idle: Arc<Mutex<Vec<Reader>>>,
    /// Whether anything was committed since a reader's snapshot began: the log's index as
    /// SQLite mapped it for the writer's connection, which is open for as long as this.
    wal_index: WalIndex,
    /// Read transactions begun by readers.
    snapshots: AtomicU64,
    /// Reader connections out of `idle`, in use.
    reading: AtomicUsize,
    writer: Arc<tokio::sync::Mutex<WriterState>>,
    /// Writers waiting for their first turn (not those waiting to learn how their group ended).
    waiting: AtomicUsize,
    /// Column positions by name and parameter indexes, per statement text.
    shapes: Mutex<HashMap<String, Arc<StatementShape>, foldhash::fast::RandomState>>,
    /// Counts of the group commits and of the log's restarts, read without the writer's lock.
    counts: Arc<WriteCounts>,
    /// Set by the checkpointer while its last syncs before a restart of the log run: each
    /// change then waits [`BRAKE`] before its turn (see [`catch_up`]).
    slow_writers: Arc<AtomicBool>,
    /// Dropped with this: the checkpointer then stops.
    _stop_checkpoints: mpsc::Sender<()>,
}

impl Direct {
    /// The database file at `path`, which must exist (sqlx created and migrated it).
    ///
    /// The writer keeps a 32 MiB page cache (readers keep SQLite's 2 MiB): the pages every
    /// change touches (index tails, interior pages) then stay in memory between commits instead
    /// of being read back from the log; and its savepoints' journal is kept in memory.
    pub fn open(path: &Path) -> StoreResult<Arc<Self>> {
        Self::open_with(path, CheckpointPolicy::default())
    }

    fn open_with(path: &Path, policy: CheckpointPolicy) -> StoreResult<Arc<Self>> {
        let writer = connect(path)?;
        writer
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;
                 PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;",
            )
            .map_err(driver)?;
        // SQLite's own `journal_size_limit` would cut the log file back in the first commit
        // after the log starts again, all at once, with every writer waiting; the checkpointer
        // does it instead, a step at a time (`cut_back`).
        writer
            .pragma_update(None, "journal_size_limit", -1)
            .map_err(driver)?;
        // The log's index, mapped once the writer has it open (a read opens it), which it
        // keeps open for as long as this store: see `wal_index`.
        writer
            .query_row("PRAGMA schema_version", [], |_| Ok(()))
            .map_err(driver)?;
        let wal_index = WalIndex::of(&writer)
            .map_err(|why| StoreError::Backend(sqlx::Error::Io(std::io::Error::other(why))))?;
        let counts = Arc::new(WriteCounts::default());
        let writer = Arc::new(tokio::sync::Mutex::new(WriterState {
            conn: writer,
            group: None,
            last_group: 0,
            failed: VecDeque::new(),
            counts: counts.clone(),
        }));
        let checkpointer = connect(path)?;
        let database_file = std::fs::File::open(path).map_err(|e| StoreError::Backend(sqlx::Error::Io(e)))?;
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let log_path = beside("-wal");
        let (stop, stopped) = mpsc::channel();
        let writer_for_checkpoints = Arc::downgrade(&writer);
        let idle = Arc::new(Mutex::new(Vec::new()));
        let idle_for_checkpoints = idle.clone();
        let slow_writers = Arc::new(AtomicBool::new(false));
        let brake = slow_writers.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                let checkpointer = Checkpointer {
                    conn: &checkpointer,
                    idle_readers: &idle_for_checkpoints,
                };
                checkpoints(
                    &checkpointer,
                    &database_file,
                    &log_path,
                    &writer_for_checkpoints,
                    &brake,
                    policy,
                    &stopped,
                )
            })
            .map_err(|e| StoreError::Backend(sqlx::Error::Io(e)))?;
        let direct = Arc::new(Self {
            path: path.to_owned(),
            idle,
            wal_index,
            snapshots: AtomicU64::new(0),
            reading: AtomicUsize::new(0),
            writer,
            waiting: AtomicUsize::new(0),
            shapes: Mutex::default(),
            counts,
            slow_writers,
            _stop_checkpoints: stop,
        });
        // Fail at start, not on the first request, if the file cannot be read.
        let reader = direct.take()?;
        direct.put(reader, false);
        Ok(direct)
    }

    fn take(&self) -> StoreResult<Reader> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let reader = match idle {
            Some(reader) => reader,
            None => {
                let conn = connect(&self.path)?;
                // A reader: it can never write, whatever statement it is given.
                conn.pragma_update(None, "query_only", true).map_err(driver)?;
                Reader { conn, snapshot: None }
            }
        };
        self.reading.fetch_add(1, Ordering::Relaxed);
        Ok(reader)
    }

    /// Back to the idle list, its read transaction ended unless it holds every commit (an idle
    /// reader's old snapshot would keep the checkpointer from copying the commits after it) and
    /// its statement did not fail (SQLite may then have ended the transaction).
    fn put(&self, mut reader: Reader, failed: bool) {
        self.reading.fetch_sub(1, Ordering::Relaxed);
        let current = !failed && reader.snapshot.is_some() && reader.snapshot == self.wal_index.version();
        if !current && reader.end_snapshot().is_err() {
            return; // left in a transaction: closed
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(reader);
        }
    }

    /// A read transaction for `reader`'s next read: the one it has open if nothing was
    /// committed since it began, else a new one. The header is read before the new transaction
    /// takes its snapshot (at its first read, `BEGIN` is deferred), so the snapshot holds at
    /// least the commits published then; a commit in between only makes the next read begin
    /// another.
    fn snapshot(&self, reader: &mut Reader) -> StoreResult<()> {
        let now = self.wal_index.version();
        if now.is_some() && reader.snapshot == now {
            return Ok(());
        }
        reader.end_snapshot().map_err(driver)?;
        reader
            .conn
            .prepare_cached("BEGIN")
            .and_then(|mut s| s.execute([]))
            .map_err(driver)?;
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        reader.snapshot = now;
        Ok(())
    }

    /// Reader connections `(open, idle)`.
    pub(crate) fn readers(&self) -> (u32, u32) {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        let reading = self.reading.load(Ordering::Relaxed);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        (count(idle + reading), count(idle))
    }

    /// What the writer and the checkpointer have done so far, for metrics.
    pub(crate) fn write_counts(&self) -> crate::SqliteWrites {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        crate::SqliteWrites {
            group_commits: n(&self.counts.group_commits),
            committed_changes: n(&self.counts.committed_changes),
            log_restarts: n(&self.counts.log_restarts),
            restart_hold: Duration::from_micros(n(&self.counts.restart_hold_us)),
        }
    }

    /// Every row of `sql` with `args` bound, read on a reader connection.
    pub(crate) fn read(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<OwnedRow>> {
        let mut reader = self.take()?;
        let rows = self
            .snapshot(&mut reader)
            .and_then(|()| self.run(&reader.conn, sql, args));
        // A connection whose statement failed is still a good connection (the failure was the
        // statement's); it begins a new transaction for its next read.
        self.put(reader, rows.is_err());
        rows
    }

    /// The writer, once the writers before in the queue are done with it.
    async fn turn(&self) -> OwnedMutexGuard<WriterState> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let state = self.writer.clone().lock_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// The writer connection for one statement of its own: the open group, if any, committed
    /// first, so the statement is durable when it returns.
    pub(crate) async fn writer(&self) -> StoreResult<OwnedMutexGuard<WriterState>> {
        let mut state = self.turn().await;
        state.commit_group()?;
        Ok(state)
    }

    /// A write transaction: a savepoint in the open group, or `BEGIN IMMEDIATE` of a new one.
    pub(crate) async fn begin(self: &Arc<Self>) -> StoreResult<DirectTx> {
        if self.slow_writers.load(Ordering::Relaxed) {
            tokio::time::sleep(BRAKE).await;
        }
        let mut state = self.turn().await;
        if state.group.as_ref().is_some_and(|g| g.members >= MAX_GROUP) {
            state.commit_group()?;
        }
        if state.group.is_none() {
            state.execute("BEGIN IMMEDIATE")?;
            state.last_group += 1;
            state.group = Some(Group {
                id: state.last_group,
                members: 0,
            });
        }
        if let Err(err) = state.execute("SAVEPOINT change") {
            state.abandon_if_empty();
            return Err(err);
        }
        Ok(DirectTx {
            state: Some(state),
            db: self.clone(),
        })
    }

    /// Every row of `sql` with `args` bound, run on `conn`; `Ok(rows)` also for statements that
    /// return none, with the rows they changed.
    pub(crate) fn run(&self, conn: &Connection, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<OwnedRow>> {
        Ok(self.run_counting(conn, sql, args)?.0)
    }

    /// [`Direct::run`], with the number of rows the statement changed.
    pub(crate) fn run_counting(
        &self,
        conn: &Connection,
        sql: &str,
        args: &[Arg<'_>],
    ) -> StoreResult<(Vec<OwnedRow>, u64)> {
        let mut stmt = conn.prepare_cached(sql).map_err(driver)?;
        let shape = self.shape(sql, &stmt);
        for (i, arg) in args.iter().enumerate() {
            let index = shape.parameters.get(i).copied().flatten().unwrap_or(i + 1);
            stmt.raw_bind_parameter(index, to_value(arg)).map_err(driver)?;
        }
        let width = shape.positions.len();
        let mut out = Vec::new();
        {
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(driver)? {
                let mut values = Vec::with_capacity(width);
                for i in 0..width {
                    values.push(Value::from(row.get_ref(i).map_err(driver)?));
                }
                out.push(OwnedRow {
                    shape: shape.clone(),
                    values,
                });
            }
        }
        // Rows changed by this statement when it changed any (a SELECT leaves the count of the
        // connection's last change, which its caller does not ask for).
        let changed = if stmt.readonly() { 0 } else { conn.changes() };
        Ok((out, changed))
    }

    fn shape(&self, sql: &str, stmt: &rusqlite::Statement<'_>) -> Arc<StatementShape> {
        let mut known = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shape) = known.get(sql) {
            return shape.clone();
        }
        let mut positions = HashMap::with_capacity_and_hasher(stmt.column_count(), Default::default());
        for (i, name) in stmt.column_names().into_iter().enumerate() {
            positions.entry(name.to_owned()).or_insert(i);
        }
        // `$n` is a named parameter to SQLite, numbered in order of first appearance.
        let mut parameters = Vec::new();
        for index in 1..=stmt.parameter_count() {
            let Some(n) = stmt
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n >= 1)
            else {
                continue;
            };
            if parameters.len() < n {
                parameters.resize(n, None);
            }
            parameters[n - 1] = Some(index);
        }
        let shape = Arc::new(StatementShape {
            positions,
            parameters,
        });
        if known.len() >= MAX_KNOWN_STATEMENTS {
            known.clear();
        }
        known.insert(sql.to_owned(), shape.clone());
        shape
    }
}

/// The writer connection and the group commit it is in.
pub struct WriterState {
    conn: Connection,
    /// The database transaction open for a group of changes, if any.
    group: Option<Group>,
    /// Id of the newest group begun.
    last_group: u64,
    /// Groups whose commit failed, and why.
    failed: VecDeque<(u64, String)>,
    /// Groups and changes committed, and the checkpointer's restarts (it counts them holding
    /// this state); shared with [`Direct::write_counts`], which reads them without the lock.
    counts: Arc<WriteCounts>,
}

/// Running totals behind [`Direct::write_counts`].
#[derive(Debug, Default)]
struct WriteCounts {
    group_commits: AtomicU64,
    committed_changes: AtomicU64,
    log_restarts: AtomicU64,
    /// Microseconds the checkpointer held the writer for the last pass before a restart.
    restart_hold_us: AtomicU64,
}

struct Group {
    id: u64,
    /// Changes done in it and waiting for its commit.
    members: usize,
}

impl WriterState {
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn execute(&self, sql: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(driver)
    }

    /// Commit the open group. A failure is remembered for its members, and the transaction is
    /// rolled back whatever state SQLite left it in.
    fn commit_group(&mut self) -> StoreResult<()> {
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let result = self.execute("COMMIT");
        if result.is_ok() {
            self.counts.group_commits.fetch_add(1, Ordering::Relaxed);
            self.counts
                .committed_changes
                .fetch_add(group.members as u64, Ordering::Relaxed);
        }
        if let Err(err) = &result {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.remember_failure(group.id, err.to_string());
        }
        result
    }

    /// Commit group `id` if it is the open one; else how it ended.
    fn finish_group(&mut self, id: u64) -> StoreResult<()> {
        if self.group.as_ref().is_some_and(|g| g.id == id) {
            return self.commit_group();
        }
        self.outcome(id)
    }

    fn remember_failure(&mut self, id: u64, why: String) {
        if self.failed.len() == FAILED_GROUPS_KEPT {
            self.failed.pop_front();
        }
        self.failed.push_back((id, why));
    }

    /// How group `id` ended, once it has (it is not the open one).
    fn outcome(&self, id: u64) -> StoreResult<()> {
        match self.failed.iter().find(|(failed, _)| *failed == id) {
            Some((_, why)) => Err(StoreError::Backend(sqlx::Error::AnyDriverError(
                format!("the group commit failed: {why}").into(),
            ))),
            None => Ok(()),
        }
    }

    /// Roll back the open group if no change in it waits for its commit.
    fn abandon_if_empty(&mut self) {
        if self.group.as_ref().is_some_and(|g| g.members == 0) {
            self.group = None;
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// One change in a group commit, on the writer connection; rolled back (to its savepoint) when
/// dropped uncommitted: an error, a panic, a cancelled request.
pub struct DirectTx {
    /// `None` once committed.
    state: Option<OwnedMutexGuard<WriterState>>,
    db: Arc<Direct>,
}

impl DirectTx {
    pub(crate) fn parts(&mut self) -> (&Direct, &mut Connection) {
        let state = self.state.as_mut().expect("a change in progress");
        (&self.db, &mut state.conn)
    }

    /// Done: the change joins its group, which commits now if no writer waits, or else when
    /// the last of the writers behind it is done; returns once it has.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        let mut state = self.state.take().expect("a change in progress");
        if let Err(err) = state.execute("RELEASE change") {
            self.state = Some(state); // dropped: rolled back
            return Err(err);
        }
        let group = state.group.as_mut().expect("a change is in a group");
        group.members += 1;
        let id = group.id;
        drop(state);
        // Writers waiting for the connection, and requests ready to run on this thread (the
        // yield lets them), add their changes; then the first of the group back here commits
        // it, and the others learn how it went. Should this request be cancelled meanwhile, the
        // group still gets committed.
        let mut pending = FinishGroup {
            db: Some(self.db.clone()),
            id,
        };
        tokio::task::yield_now().await;
        let mut state = self.db.writer.clone().lock_owned().await;
        pending.db = None;
        state.finish_group(id)
    }
}

/// Commits group `id` if it is still open when dropped armed (its writer's request was
/// cancelled while waiting for its turn), so no group is left open with no one to end it.
struct FinishGroup {
    db: Option<Arc<Direct>>,
    id: u64,
}

impl Drop for FinishGroup {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let id = self.id;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = db.writer.clone().lock_owned().await.finish_group(id);
                });
            }
        }
    }
}

impl Drop for DirectTx {
    fn drop(&mut self) {
        let Some(state) = self.state.as_mut() else {
            return;
        };
        // Undo this change only; the group's other changes stay for its commit.
        if state
            .execute("ROLLBACK TO change")
            .and_then(|()| state.execute("RELEASE change"))
            .is_err()
        {
            // The transaction is in a state SQLite could not undo: end the group as failed.
            if let Some(group) = state.group.take() {
                let _ = state.conn.execute_batch("ROLLBACK");
                state.remember_failure(group.id, "a change in the group could not be undone".to_owned());
            }
            return;
        }
        state.abandon_if_empty();
    }
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // The platform's VFS but for the log, whose frames it writes at once per commit (see
    // `log_writes`): only the writer writes frames, the others just read through it.
    let conn = crate::log_writes::open(path, flags).map_err(driver)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(driver)?;
    conn.pragma_update(None, "mmap_size", MMAP_SIZE).map_err(driver)?;
    // rusqlite keeps 16 prepared statements by default; the writer runs more than that (a
    // projection update names only the columns it changes, so it has a few shapes), and a
    // statement prepared again costs more than the change it makes.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Copy the log into the database file every [`CHECKPOINT_EVERY`] until told to stop, and keep
/// the log from growing without end.
///
/// A PASSIVE checkpoint copies what no reader still needs and waits for no one, so it never
/// holds up a write. But SQLite starts the log again from its beginning only when a write
/// transaction begins while the whole log is copied, and under a steady stream of group commits
/// the next group has always begun before a checkpoint catches up: the log then grows for as
/// long as the writes go on (a gigabyte in ten seconds of message posts), and every frame
/// appended to a growing file costs the kernel a block allocation and zeroing, a quarter of a
/// write's CPU. So once the log is [`RESTART_LOG_AT`] frames long:
///
/// 1. The checkpointer catches up while the writes go on ([`catch_up`]): passes, each copying
///    what was written during the one before, until one is quick ([`QUICK_PASS`]); then a sync
///    of the database file; and again, until a sync is quick too, or [`CATCH_UP_SYNCS`] were
///    made. The syncs converge like the passes (each writes back what was copied during the one
///    before), so the last pass, which the writers wait for, has little to copy and sync. Fewer
///    syncs than passes: the kernel writes back a page once per sync however many times it was
///    copied, and walks each dirty page's folio (ext4: its buffer heads) once per sync. Until
///    2026-12-07 every pass synced: at a million tickets a catch-up then ran out of passes more
///    often than not, and the writers waited 9–90 ms at a restart (median 20), against 5–19 ms
///    (median 8) since (message posts, 64 connections, the checkpointer's debug log). On a
///    server busy for a minute the syncs stopped shrinking; the writers are now slowed during
///    the second and later syncs of a catch-up, so that they do (see [`catch_up`]).
/// 2. It takes its turn at the writer (in the writers' queue, between changes), commits the
///    open group, copies the few frames written since and lets go. The next group starts the
///    log again, reusing the file's blocks. Writers wait only for that last pass.
/// 3. Once the log has started again, a file that writes outpacing the checkpoints grew beyond
///    [`LOG_SIZE_LIMIT`] is cut back to it, a step at a time ([`cut_back`]).
///
/// A long log that is wholly copied and has not grown since the tick before is left as it is:
/// no one writes, and the next write starts it again by itself.
///
/// One pass a second (not more often) also lets a page written by many changes be copied once.
fn checkpoints(
    checkpointer: &Checkpointer<'_>,
    database_file: &std::fs::File,
    log_path: &Path,
    writer: &std::sync::Weak<tokio::sync::Mutex<WriterState>>,
    slow_writers: &AtomicBool,
    policy: CheckpointPolicy,
    stop: &mpsc::Receiver<()>,
) {
    let checkpoint = || checkpointer.pass();
    let conn = checkpointer.conn;
    // The log's frames at the tick before.
    let mut before = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(policy.every) {
        let Some((frames, copied)) = checkpoint() else {
            continue;
        };
        // Wholly copied and no longer than a tick ago: no one writes. The next write starts
        // the log again by itself (SQLite does when it finds the whole log copied), so there
        // is nothing to catch up with, and a turn at the writer would be counted as a restart
        // that makes none.
        let idle = copied == frames && before == Some(frames);
        before = Some(frames);
        if frames < policy.restart_at || idle {
            cut_back(conn, log_path, writer, policy);
            continue;
        }
        let catching_up = Instant::now();
        let sync = || {
            if let Err(err) = database_file.sync_data() {
                tracing::warn!(error = %err, "syncing the SQLite database file failed");
            }
        };
        let brake = |on: bool| slow_writers.store(on, Ordering::Relaxed);
        let (passes, syncs) = catch_up(checkpoint, sync, brake, policy);
        let caught_up_ms = catching_up.elapsed().as_secs_f64() * 1e3;
        let Some(writer) = writer.upgrade() else { return };
        let mut state = writer.blocking_lock();
        let held = Instant::now();
        // The open group's writers learn the outcome from `finish_group`, as if one of them
        // committed it.
        let _ = state.commit_group();
        checkpoint();
        let held_us = u64::try_from(held.elapsed().as_micros()).unwrap_or(u64::MAX);
        state.counts.restart_hold_us.fetch_add(held_us, Ordering::Relaxed);
        state.counts.log_restarts.fetch_add(1, Ordering::Relaxed);
        // Held until the last pass is done: the next group then starts the log again.
        drop(state);
        tracing::debug!(
            frames,
            passes,
            syncs,
            caught_up_ms,
            held_ms = held_us as f64 / 1e3,
            "the log starts again"
        );
    }
}

/// The checkpointer's connection, and the idle readers whose snapshots it ends before a pass.
struct Checkpointer<'a> {
    conn: &'a Connection,
    idle_readers: &'a Mutex<Vec<Reader>>,
}

impl Checkpointer<'_> {
    /// A checkpoint pass: the frames in the log when it began, and how many of them are copied
    /// (all unless a reader still needed some). Idle readers' snapshots end first: a reader's
    /// snapshot keeps the pass from copying what was committed after it began.
    fn pass(&self) -> Option<(i64, i64)> {
        end_idle_snapshots(self.idle_readers);
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
            })
            .inspect_err(|err| tracing::warn!(error = %err, "SQLite checkpoint failed; the next one retries"))
            .ok()
    }
}

/// Step 1 of [`checkpoints`]: copy and sync while the writes go on, until what is left for the
/// writers to wait for is little. Rounds of copying passes (until one is quick) and a sync of
/// the database file (until one is quick, or [`CATCH_UP_SYNCS`] were made): each pass copies
/// what was written during the one before, each sync writes back what the passes before it
/// copied. A pass that fails ends it (the held pass retries). The passes and syncs made.
///
/// The writers are slowed (`brake(true)`: each change waits [`BRAKE`] before its turn) during
/// the second and later syncs, and let go at the end. A sync's pages are those written during
/// the sync before; at a million tickets and 15k message posts a second, a server busy for a
/// minute wrote them as fast as a sync could write them back, so the syncs stopped shrinking
/// (77, 99, 111, 110, then ~140 ms each), the catch-up ran out of passes and the writers then
/// waited 80–160 ms for the last one. Slowed for those syncs alone, they shrink again: in three
/// rounds of GETs, posts and mixes on one server, twice, the posts' p99 was 10.4–12.8 ms and the
/// writers waited at most 18.5 ms, against 11.0–61.1 ms and up to 163 ms without the brake.
fn catch_up<T>(
    checkpoint: impl Fn() -> Option<T>,
    sync: impl Fn(),
    brake: impl Fn(bool),
    policy: CheckpointPolicy,
) -> (usize, usize) {
    let (mut passes, mut syncs) = (0, 0);
    'catch_up: while syncs < policy.catch_up_syncs {
        loop {
            let pass = Instant::now();
            passes += 1;
            if checkpoint().is_none() {
                break 'catch_up;
            }
            if pass.elapsed() < QUICK_PASS || passes >= policy.catch_up_passes {
                break;
            }
        }
        brake(syncs > 0);
        let synced = Instant::now();
        syncs += 1;
        sync();
        if synced.elapsed() < QUICK_PASS || passes >= policy.catch_up_passes {
            break;
        }
    }
    brake(false);
    (passes, syncs)
}

/// Cut the log file back to [`LOG_SIZE_LIMIT`] if writes that outpaced the checkpoints grew it
/// beyond, once the log has started again: the file's end is then frames of an old log, which
/// no reader will read again (SQLite starts a log again only when none reads the old one) and
/// recovery would not take (their salts are the old log's).
///
/// SQLite's `journal_size_limit` does this within the first commit of the new log, in one
/// `ftruncate`: after a 2 GiB log, the kernel's freeing of its pages held every writer for
/// 150–270 ms (`bench/heavy-ticket.sh`, the other tenant's writes after a flood). Here each step
/// removes at most [`CUT_STEP`] and lets the writers go between steps. A step is made in the
/// checkpointer's turn at the writer, which commits the open group and then holds SQLite's
/// write lock (an empty `BEGIN IMMEDIATE`), so that no commit, of this process or another,
/// can append past the cut while it is made.
fn cut_back(
    conn: &Connection,
    log_path: &Path,
    writer: &std::sync::Weak<tokio::sync::Mutex<WriterState>>,
    policy: CheckpointPolicy,
) {
    if std::fs::metadata(log_path).is_ok_and(|m| m.len() <= policy.log_size_limit) {
        return;
    }
    let Ok(log) = std::fs::OpenOptions::new().write(true).open(log_path) else {
        return;
    };
    let Ok(page_size) = conn.query_row("PRAGMA page_size", [], |row| row.get::<_, u64>(0)) else {
        return;
    };
    // The log's index as SQLite mapped it for `conn`, which outlives this call.
    let Ok(index) = WalIndex::of(conn) else {
        return;
    };
    while file_len(&log) > policy.log_size_limit {
        let Some(writer) = writer.upgrade() else { return };
        let mut state = writer.blocking_lock();
        let held = Instant::now();
        // The open group's writers learn the outcome from `finish_group`.
        let _ = state.commit_group();
        if state.conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            return; // another process writes: the next checkpoint retries
        }
        let cut = cut_step(&log, &index, page_size, policy);
        let _ = state.conn.execute_batch("COMMIT");
        drop(state);
        let Some(to) = cut else { return };
        tracing::debug!(
            to,
            held_ms = held.elapsed().as_secs_f64() * 1e3,
            "the log file is cut back"
        );
    }
}

/// One step of [`cut_back`], made holding the write lock: the length it cut the file to, if it
/// cut.
fn cut_step(log: &std::fs::File, index: &WalIndex, page_size: u64, policy: CheckpointPolicy) -> Option<u64> {
    // The log's frames now; none can be added while the lock is held.
    let frames = index.version()?.frames()?;
    let frame = crate::log_writes::FRAME_HEADER as u64 + page_size;
    let live = LOG_HEADER + u64::from(frames) * frame;
    let current = file_len(log);
    let to = policy
        .log_size_limit
        .max(live)
        .max(current.saturating_sub(policy.cut_step));
    if to >= current {
        return None; // the live log itself is that long
    }
    if let Err(err) = log.set_len(to) {
        tracing::warn!(error = %err, "cutting the SQLite log file back failed; the next checkpoint retries");
        return None;
    }
    Some(to)
}

fn file_len(file: &std::fs::File) -> u64 {
    file.metadata().map_or(0, |m| m.len())
}

/// A log file's header, before its frames.
const LOG_HEADER: u64 = 32;

/// A statement's column positions by name (the first of repeated names, as sqlx has it), and
/// the index SQLite gave each of its `$n` parameters (`None` where it has no `$n`: generated
/// statements use `?`, bound by position).
#[derive(Debug)]
pub struct StatementShape {
    positions: HashMap<String, usize, foldhash::fast::RandomState>,
    parameters: Vec<Option<usize>>,
}

/// One result row, its values copied out of SQLite.
#[derive(Debug)]
pub struct OwnedRow {
    shape: Arc<StatementShape>,
    values: Vec<Value>,
}

impl OwnedRow {
    fn value(&self, col: &str) -> StoreResult<&Value> {
        self.shape
            .positions
            .get(col)
            .map(|&i| &self.values[i])
            .ok_or_else(|| StoreError::Corrupt(format!("no column {col} in the row")))
    }
}

fn mismatch(col: &str, want: &str, got: &Value) -> StoreError {
    StoreError::Corrupt(format!(
        "column {col}: expected {want}, found {:?}",
        got.data_type()
    ))
}

impl Columns for OwnedRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.opt_text(col)?
            .ok_or_else(|| mismatch(col, "text", &Value::Null))
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            other => Err(mismatch(col, "text", other)),
        }
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.opt_int(col)?
            .ok_or_else(|| mismatch(col, "integer", &Value::Null))
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            other => Err(mismatch(col, "integer", other)),
        }
    }
    fn float(&self, col: &str) -> StoreResult<f64> {
        match self.value(col)? {
            Value::Real(f) => Ok(*f),
            // SQLite stores a REAL with no fraction as an integer when that is smaller.
            Value::Integer(i) => Ok(*i as f64),
            other => Err(mismatch(col, "real", other)),
        }
    }
    fn flag(&self, col: &str) -> StoreResult<bool> {
        Ok(self.int(col)? != 0)
    }
    fn bytes(&self, col: &str) -> StoreResult<Vec<u8>> {
        match self.value(col)? {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.clone().into_bytes()),
            other => Err(mismatch(col, "blob", other)),
        }
    }
}

fn to_value(arg: &Arg<'_>) -> Value {
    let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::Text(s.to_owned()));
    match arg {
        Arg::Int(v) => Value::Integer(*v),
        Arg::OptInt(v) => v.map_or(Value::Null, Value::Integer),
        Arg::Float(v) => Value::Real(*v),
        Arg::Bool(v) => Value::Integer(i64::from(*v)),
        Arg::Text(s) => text(Some(s)),
        Arg::OptText(s) => text(*s),
        Arg::Owned(s) => text(Some(s)),
        Arg::OptOwned(s) => text(s.as_deref()),
        Arg::Bytes(b) => Value::Blob(b.to_vec()),
    }
}

/// A rusqlite error as the `StoreError` sqlx's SQLite driver gives for it: SQLite's own errors
/// (constraints above all, which callers turn into conflicts) as database errors.
fn driver(err: rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(code, message) => {
            StoreError::Backend(sqlx::Error::Database(Box::new(SqliteError {
                code,
                message: message.unwrap_or_else(|| code.to_string()),
            })))
        }
        other => StoreError::Backend(sqlx::Error::AnyDriverError(Box::new(other))),
    }
}

#[derive(Debug)]
struct SqliteError {
    code: rusqlite::ffi::Error,
    message: String,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLite code {})", self.message, self.code.extended_code)
    }
}

impl std::error::Error for SqliteError {}

impl sqlx::error::DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.extended_code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_intact(conn: &Connection) {
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok");
    }

    fn database() -> (tempfile::TempDir, Arc<Direct>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, flag INTEGER, note TEXT);
             INSERT INTO t VALUES (1, 'one', 1.5, 1, NULL), (2, 'two', 2, 0, 'n');",
        )
        .expect("schema");
        let reader = Direct::open(&path).expect("open");
        (dir, reader)
    }

    #[test]
    fn a_repeated_placeholder_is_one_parameter_and_question_marks_bind_by_position() {
        let (_dir, reader) = database();
        let ids = |sql: &str, args: &[Arg<'_>]| -> Vec<i64> {
            let rows = reader.read(sql, args).expect("rows");
            rows.iter().map(|row| row.int("id").unwrap()).collect()
        };
        // `$2` first and `$1` twice: two parameters, each bound to its own argument (twice,
        // and out of order, to use the remembered indexes too).
        for _ in 0..2 {
            let sql = "SELECT id FROM t WHERE name = $2 OR (id = $1 AND id = $1) ORDER BY id";
            assert_eq!(ids(sql, &[Arg::Int(1), Arg::Text("two")]), [1, 2]);
            assert_eq!(ids(sql, &[Arg::Int(2), Arg::Text("none")]), [2]);
        }
        assert_eq!(
            ids(
                "SELECT id FROM t WHERE id = ? OR name = ?",
                &[Arg::Int(9), Arg::Text("one")]
            ),
            [1]
        );
    }

    #[test]
    fn binds_numbered_placeholders_by_name_in_any_order() {
        let (_dir, reader) = database();
        // `$2` comes first in the text: bound by name, not by position.
        let rows = reader
            .read(
                "SELECT id, name, score, flag, note FROM t WHERE name = $2 AND id = $1",
                &[Arg::Int(2), Arg::Text("two")],
            )
            .expect("rows");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.int("id").unwrap(), 2);
        assert_eq!(row.text("name").unwrap(), "two");
        assert_eq!(row.float("score").unwrap(), 2.0);
        assert!(!row.flag("flag").unwrap());
        assert_eq!(row.opt_text("note").unwrap().as_deref(), Some("n"));
    }

    #[test]
    fn nulls_missing_columns_and_wrong_types_are_errors_not_panics() {
        let (_dir, reader) = database();
        let rows = reader
            .read("SELECT id, name, note FROM t WHERE id = $1", &[Arg::Int(1)])
            .expect("rows");
        let row = &rows[0];
        assert_eq!(row.opt_text("note").unwrap(), None);
        assert!(matches!(row.text("note"), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.int("name"), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.int("absent"), Err(StoreError::Corrupt(_))));
        let none = reader
            .read("SELECT id FROM t WHERE id = $1", &[Arg::Int(9)])
            .expect("no rows is not an error");
        assert!(none.is_empty());
    }

    #[test]
    fn a_unique_violation_is_one_as_sqlx_reports_it() {
        let (_dir, db) = database();
        let state = db.writer.try_lock().expect("the writer is free");
        let err = db
            .run(
                state.conn(),
                "INSERT INTO t (id, name) VALUES ($1, $2)",
                &[Arg::Int(1), Arg::Text("dup")],
            )
            .expect_err("id 1 exists");
        let StoreError::Backend(sqlx::Error::Database(db_err)) = err else {
            panic!("not a database error: {err:?}");
        };
        assert!(db_err.is_unique_violation(), "{db_err}");
    }

    #[test]
    fn a_reader_cannot_write() {
        let (_dir, reader) = database();
        let err = reader.read("DELETE FROM t WHERE id = $1", &[Arg::Int(1)]);
        assert!(matches!(err, Err(StoreError::Backend(_))), "{err:?}");
        let rows = reader.read("SELECT id FROM t", &[]).expect("rows");
        assert_eq!(rows.len(), 2);
    }

    #[tokio::test]
    async fn a_write_transaction_commits_or_rolls_back_and_writers_take_turns() {
        let (_dir, db) = database();
        let mut tx = db.begin().await.expect("begin");
        let (d, conn) = tx.parts();
        let (_, changed) = d
            .run_counting(
                conn,
                "UPDATE t SET name = $1 WHERE id = $2",
                &[Arg::Text("uno"), Arg::Int(1)],
            )
            .expect("update");
        assert_eq!(changed, 1);
        // The next writer waits for this one.
        let next = db.clone();
        let waiting = tokio::spawn(async move { next.begin().await.map(drop) });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        tx.commit().await.expect("commit");
        waiting.await.expect("joined").expect("the next writer's turn");

        let mut tx = db.begin().await.expect("begin");
        let (d, conn) = tx.parts();
        d.run(conn, "DELETE FROM t", &[]).expect("delete");
        drop(tx); // uncommitted: rolled back
        let rows = db.read("SELECT name FROM t ORDER BY id", &[]).expect("rows");
        let names: Vec<_> = rows.iter().map(|r| r.text("name").unwrap()).collect();
        assert_eq!(names, ["uno", "two"]);
    }

    /// A change in a group: insert row `id`, then commit it or (`fail`) drop it.
    async fn change(db: Arc<Direct>, id: i64, fail: bool) -> StoreResult<()> {
        let mut tx = db.begin().await?;
        let (d, conn) = tx.parts();
        d.run(conn, "INSERT INTO t (id, name) VALUES ($1, 'g')", &[Arg::Int(id)])?;
        if fail {
            return Err(StoreError::Conflict("dropped".to_owned()));
        }
        tx.commit().await
    }

    #[tokio::test]
    async fn writers_behind_a_change_share_its_commit_and_a_failed_change_is_undone_alone() {
        let (_dir, db) = database();
        let mut first = db.begin().await.expect("begin");
        let (d, conn) = first.parts();
        d.run(conn, "INSERT INTO t (id, name) VALUES (10, 'g')", &[])
            .expect("insert");
        // Three writers queue behind the first; the middle one fails.
        let behind: Vec<_> = [(11, false), (12, true), (13, false)]
            .into_iter()
            .map(|(id, fail)| tokio::spawn(change(db.clone(), id, fail)))
            .collect();
        while db.waiting.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        first.commit().await.expect("the group committed");
        let results: Vec<_> = futures_join(behind).await;
        assert!(
            results[0].is_ok() && results[1].is_err() && results[2].is_ok(),
            "{results:?}"
        );
        let state = db.writer.try_lock().expect("the writer is free");
        assert!(state.group.is_none(), "no group left open");
        drop(state);
        let counts = db.write_counts();
        assert_eq!(
            (counts.group_commits, counts.committed_changes),
            (1, 3),
            "four changes, one commit of the three that succeeded"
        );
        let rows = db
            .read("SELECT id FROM t WHERE name = 'g' ORDER BY id", &[])
            .expect("rows");
        let ids: Vec<_> = rows.iter().map(|r| r.int("id").unwrap()).collect();
        assert_eq!(ids, [10, 11, 13]);
    }

    #[tokio::test]
    async fn a_lone_writer_commits_alone() {
        let (_dir, db) = database();
        change(db.clone(), 20, false).await.expect("committed");
        change(db.clone(), 21, true).await.expect_err("dropped");
        let state = db.writer.try_lock().expect("the writer is free");
        assert_eq!(db.write_counts().group_commits, 1);
        assert!(
            state.group.is_none(),
            "the dropped change left no transaction open"
        );
        assert!(state.conn.is_autocommit());
    }

    async fn futures_join(handles: Vec<tokio::task::JoinHandle<StoreResult<()>>>) -> Vec<StoreResult<()>> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("joined"));
        }
        out
    }

    /// Runs [`catch_up`] on scripted steps: `passes[i]` is how the i-th pass goes (`Some(true)`
    /// slow, `Some(false)` quick, `None` failed; quick after the script), `syncs[i]` whether the
    /// i-th sync is slow (quick after it). The steps in order ('p' a pass, 's' a sync, 'S' a
    /// sync with the writers slowed) and what `catch_up` returned; the writers are let go at
    /// the end.
    fn scripted_catch_up(
        passes: &[Option<bool>],
        syncs: &[bool],
        policy: CheckpointPolicy,
    ) -> (String, (usize, usize)) {
        let slow = QUICK_PASS * 3;
        let steps = std::cell::RefCell::new(String::new());
        let (made_passes, made_syncs) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let pass = || {
            steps.borrow_mut().push('p');
            let step = passes.get(made_passes.get()).copied().unwrap_or(Some(false));
            made_passes.set(made_passes.get() + 1);
            if step? {
                std::thread::sleep(slow);
            }
            Some(())
        };
        let braking = std::cell::Cell::new(false);
        let sync = || {
            steps.borrow_mut().push(if braking.get() { 'S' } else { 's' });
            if syncs.get(made_syncs.get()).copied().unwrap_or(false) {
                std::thread::sleep(slow);
            }
            made_syncs.set(made_syncs.get() + 1);
        };
        let made = catch_up(pass, sync, |on| braking.set(on), policy);
        assert!(!braking.get(), "the writers are let go");
        (steps.into_inner(), made)
    }

    #[test]
    fn a_catch_up_copies_until_a_pass_is_quick_then_syncs_until_a_sync_is_quick() {
        let policy = CheckpointPolicy::default();
        let (slow, quick) = (Some(true), Some(false));
        // Passes until a quick one, a slow sync, a quick pass and a quick sync, the writers
        // slowed for the second.
        let run = scripted_catch_up(&[slow, slow, slow, quick], &[true], policy);
        assert_eq!(run, ("ppppspS".to_owned(), (5, 2)));
        // Quick at once: one pass and one sync.
        assert_eq!(scripted_catch_up(&[], &[], policy), ("ps".to_owned(), (1, 1)));
        // Syncs that never get quick stop at CATCH_UP_SYNCS, one quick pass before each.
        let (steps, made) = scripted_catch_up(
            &[],
            &[true; 64],
            CheckpointPolicy {
                catch_up_syncs: 4,
                ..policy
            },
        );
        assert_eq!((steps.as_str(), made), ("pspSpSpS", (4, 4)));
        // Passes that never get quick stop at CATCH_UP_PASSES, with one sync after them.
        let run = scripted_catch_up(
            &[slow; 64],
            &[true; 64],
            CheckpointPolicy {
                catch_up_passes: 3,
                ..policy
            },
        );
        assert_eq!(run, ("ppps".to_owned(), (3, 1)));
        // A failed pass ends it, without a sync.
        assert_eq!(
            scripted_catch_up(&[slow, None], &[], policy),
            ("pp".to_owned(), (2, 0))
        );
    }

    /// A database of one table of blobs, whose checkpointer ticks `every` and starts the log
    /// again once it holds 256 frames, after one catch-up pass (however busy the machine, the
    /// log then starts again every few passes).
    fn blobs_database(every: Duration) -> (tempfile::TempDir, Arc<Direct>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .and_then(|c| {
                c.execute_batch(
                    "PRAGMA journal_mode = WAL; CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);",
                )
            })
            .expect("schema");
        let policy = CheckpointPolicy {
            every,
            restart_at: 256,
            catch_up_passes: 1,
            catch_up_syncs: 1,
            ..CheckpointPolicy::default()
        };
        let db = Direct::open_with(&path, policy).expect("open");
        (dir, db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_steady_stream_of_group_commits_the_log_starts_again_instead_of_growing() {
        let (dir, db) = blobs_database(Duration::from_millis(20));
        // Rounds of four writers, each row a page of its own. How soon the first restarts come,
        // and how long the log file grew before they did, depends on how much of the machine
        // the checkpointer gets (other tests run beside this one): write until three came, then
        // twice as much again, at least 128 MiB, and on until the file is under half of what
        // was written (it keeps the length it grew to), 1 GiB at most.
        const ROUND: i64 = 2048;
        const CAP: i64 = 128 * ROUND; // 1 GiB
        let log_len = || {
            std::fs::metadata(dir.path().join("t.db-wal"))
                .expect("the log")
                .len()
        };
        let (mut rows, mut restarted_at) = (0_i64, None);
        while rows < CAP
            && restarted_at
                .is_none_or(|at: i64| rows < (3 * at).max(32_768) || log_len() >= rows as u64 * 4096 / 2)
        {
            let writers: Vec<_> = (0..4)
                .map(|w| {
                    let db = db.clone();
                    tokio::spawn(async move {
                        for i in (rows + w..rows + ROUND).step_by(4) {
                            let mut tx = db.begin().await?;
                            let (d, conn) = tx.parts();
                            let blob = vec![u8::try_from(i % 251).unwrap_or(0); 4000];
                            d.run(
                                conn,
                                "INSERT INTO blobs (id, b) VALUES ($1, $2)",
                                &[Arg::Int(i), Arg::Bytes(&blob)],
                            )?;
                            tx.commit().await?;
                        }
                        StoreResult::Ok(())
                    })
                })
                .collect();
            for result in futures_join(writers).await {
                result.expect("every change committed");
            }
            rows += ROUND;
            if restarted_at.is_none() && db.write_counts().log_restarts >= 3 {
                restarted_at = Some(rows);
            }
        }
        let written = rows as u64 * 4096;
        let log = log_len();
        // Had it never started again, the log would hold every frame written.
        assert!(restarted_at.is_some(), "no restart in {written} bytes written");
        assert!(log < written / 2, "a log of {log} bytes after {written} written");
        let counts = db.write_counts();
        assert!(
            counts.restart_hold > Duration::ZERO,
            "the writers' wait for the restarts is counted: {counts:?}"
        );
        assert_eq!(counts.committed_changes, rows as u64, "{counts:?}");
        let read = db.read("SELECT count(*) AS n FROM blobs", &[]).expect("count");
        assert_eq!(read[0].int("n").unwrap(), rows);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_log_no_one_writes_to_is_left_to_start_again_by_the_next_write() {
        let (_dir, db) = blobs_database(Duration::from_millis(10));
        let write = |rows: i64, first: i64| {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.expect("begin");
                let (d, conn) = tx.parts();
                d.run(
                    conn,
                    "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
                     INSERT INTO blobs (id, b) SELECT i, randomblob(4000) FROM n",
                    &[Arg::Int(first), Arg::Int(first + rows - 1)],
                )
                .expect("insert");
                tx.commit().await.expect("commit");
            }
        };
        // A log of over 512 frames, copied by the checkpointer and then left alone.
        write(512, 1).await;
        let frames = || db.wal_index.version().and_then(|v| v.frames());
        assert!(frames().is_some_and(|f| f >= 512));
        let deadline = Instant::now() + Duration::from_secs(30);
        while db.write_counts().log_restarts == 0 {
            assert!(Instant::now() < deadline, "the checkpointer never took its turn");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let after_writes = db.write_counts().log_restarts;
        // Thirty ticks with no write: no turn at the writer is needed, nor counted.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let counts = db.write_counts();
        assert!(
            counts.log_restarts <= after_writes + 1,
            "{} restarts counted while no one wrote",
            counts.log_restarts - after_writes
        );
        // The log still holds its frames, and the next write starts it from its beginning.
        assert!(frames().is_some_and(|f| f >= 512));
        write(1, 10_000).await;
        let frames = frames().expect("the index header");
        assert!(frames < 16, "the log did not start again: {frames} frames");
        let read = db.read("SELECT count(*) AS n FROM blobs", &[]).expect("count");
        assert_eq!(read[0].int("n").unwrap(), 513);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_file_grown_past_its_limit_is_cut_back_once_the_log_starts_again() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        let log_path = dir.path().join("t.db-wal");
        // Another connection grows the log to 16 MB and stays open, so that nothing removes
        // the file when it is copied.
        let other = Connection::open(&path).expect("open");
        other
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
                 INSERT INTO blobs (id, b) SELECT i, randomblob(4000) FROM n;",
            )
            .expect("a long log");
        const LIMIT: u64 = 4 << 20;
        let grown = std::fs::metadata(&log_path).expect("the log").len();
        assert!(grown > 3 * LIMIT, "{grown}");
        let policy = CheckpointPolicy {
            every: Duration::from_millis(20),
            restart_at: 256,
            catch_up_passes: 1,
            catch_up_syncs: 1,
            log_size_limit: LIMIT,
            cut_step: 1 << 20,
        };
        let db = Direct::open_with(&path, policy).expect("open");
        // Writes go on: the log starts again from its beginning, and its file is cut back.
        let mut size = grown;
        for i in 0..500 {
            let mut tx = db.begin().await.expect("begin");
            let (d, conn) = tx.parts();
            d.run(
                conn,
                "UPDATE blobs SET b = zeroblob(10) WHERE id = $1",
                &[Arg::Int(i + 1)],
            )
            .expect("update");
            tx.commit().await.expect("commit");
            size = std::fs::metadata(&log_path).expect("the log").len();
            if size <= LIMIT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(size <= LIMIT, "the log file is still {size} bytes");
        let rows = db
            .read(
                "SELECT count(*) AS n, sum(length(b) = 10) AS small FROM blobs",
                &[],
            )
            .expect("count");
        assert_eq!(rows[0].int("n").unwrap(), 4000);
        assert!(rows[0].int("small").unwrap() > 0);
        drop(db);
        assert_intact(&other);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_longer_than_the_limit_is_not_cut_while_it_is_read() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        let reader = Connection::open(&path).expect("open");
        reader
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB);
                 INSERT INTO blobs VALUES (0, x'00');",
            )
            .expect("schema");
        // Never started again by the checkpointer, and cut back beyond 1 MiB.
        let policy = CheckpointPolicy {
            every: Duration::from_millis(10),
            restart_at: i64::MAX,
            catch_up_passes: 1,
            catch_up_syncs: 1,
            log_size_limit: 1 << 20,
            cut_step: 1 << 20,
        };
        let db = Direct::open_with(&path, policy).expect("open");
        // A read transaction keeps every frame written after it in the log.
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM blobs;")
            .expect("a reader");
        for i in 1..=2_000 {
            let mut tx = db.begin().await.expect("begin");
            let (d, conn) = tx.parts();
            let blob = vec![7_u8; 4000];
            d.run(
                conn,
                "INSERT INTO blobs (id, b) VALUES ($1, $2)",
                &[Arg::Int(i), Arg::Bytes(&blob)],
            )
            .expect("insert");
            tx.commit().await.expect("commit");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let size = std::fs::metadata(dir.path().join("t.db-wal"))
            .expect("the log")
            .len();
        assert!(size > 8 << 20, "the log holds every frame written: {size} bytes");
        let rows = db
            .read("SELECT count(*) AS n, sum(length(b)) AS bytes FROM blobs", &[])
            .expect("every row read back");
        assert_eq!(
            (rows[0].int("n").unwrap(), rows[0].int("bytes").unwrap()),
            (2_001, 2_000 * 4000 + 1)
        );
        reader.execute_batch("COMMIT").expect("end the read");
        assert_intact(&reader);
    }

    /// [`database`] with no checkpoints, and a connection of its own to the file (as another
    /// process's).
    fn database_and_another_connection() -> (tempfile::TempDir, Arc<Direct>, Connection) {
        let (dir, db) = database();
        let path = dir.path().join("t.db");
        drop(db);
        let policy = CheckpointPolicy {
            every: Duration::from_secs(3600),
            ..CheckpointPolicy::default()
        };
        let db = Direct::open_with(&path, policy).expect("open");
        let other = Connection::open(&path).expect("another connection");
        (dir, db, other)
    }

    fn name_of_1(db: &Direct) -> String {
        let rows = db.read("SELECT name FROM t WHERE id = 1", &[]).expect("read");
        rows[0].text("name").expect("name")
    }

    fn snapshots_begun(db: &Direct) -> u64 {
        db.snapshots.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn reads_between_two_commits_share_one_read_transaction() {
        let (_dir, db, _other) = database_and_another_connection();
        let before = snapshots_begun(&db);
        for _ in 0..5 {
            assert_eq!(name_of_1(&db), "one");
        }
        assert_eq!(snapshots_begun(&db), before + 1, "five reads, one snapshot");
        let mut tx = db.begin().await.expect("begin");
        let (d, conn) = tx.parts();
        // (A change: a commit that changes no page writes nothing to the log, and is none.)
        d.run(conn, "UPDATE t SET name = 'deux' WHERE id = 2", &[])
            .expect("update");
        tx.commit().await.expect("commit");
        for _ in 0..5 {
            assert_eq!(name_of_1(&db), "one");
        }
        assert_eq!(snapshots_begun(&db), before + 2, "one more after the commit");
    }

    #[tokio::test]
    async fn a_read_sees_every_commit_completed_before_it_whoever_made_it() {
        let (_dir, db, other) = database_and_another_connection();
        assert_eq!(name_of_1(&db), "one");
        // The writer's change in a group...
        let mut tx = db.begin().await.expect("begin");
        let (d, conn) = tx.parts();
        d.run(conn, "UPDATE t SET name = 'grouped' WHERE id = 1", &[])
            .expect("update");
        tx.commit().await.expect("commit");
        assert_eq!(name_of_1(&db), "grouped");
        // ...a statement of its own...
        {
            let state = db.writer().await.expect("the writer");
            db.run(state.conn(), "UPDATE t SET name = 'alone' WHERE id = 1", &[])
                .expect("update");
        }
        assert_eq!(name_of_1(&db), "alone");
        // ...and another connection's (another process's) commit, at once.
        other
            .execute("UPDATE t SET name = 'elsewhere' WHERE id = 1", [])
            .expect("update");
        assert_eq!(name_of_1(&db), "elsewhere");
    }

    #[tokio::test]
    async fn an_idle_reader_s_snapshot_ends_before_a_checkpoint_so_the_pass_copies_everything() {
        let (_dir, db, other) = database_and_another_connection();
        assert_eq!(name_of_1(&db), "one");
        for i in 10..40 {
            let mut tx = db.begin().await.expect("begin");
            let (d, conn) = tx.parts();
            d.run(conn, "INSERT INTO t (id, name) VALUES ($1, 'x')", &[Arg::Int(i)])
                .expect("insert");
            tx.commit().await.expect("commit");
        }
        let pass = || {
            other
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })
                .expect("checkpoint")
        };
        // The idle reader's snapshot predates the commits: a pass cannot copy them all.
        let (frames, copied) = pass();
        assert!(copied < frames, "{copied} of {frames} frames copied");
        end_idle_snapshots(&db.idle);
        let (frames, copied) = pass();
        assert_eq!(copied, frames);
        assert_eq!(name_of_1(&db), "one");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_ends_idle_readers_snapshots() {
        let (dir, db) = database();
        let path = dir.path().join("t.db");
        drop(db);
        let policy = CheckpointPolicy {
            every: Duration::from_millis(20),
            ..CheckpointPolicy::default()
        };
        let db = Direct::open_with(&path, policy).expect("open");
        assert_eq!(name_of_1(&db), "one");
        let snapshots = || {
            let idle = db.idle.lock().unwrap();
            idle.iter().filter(|r| r.snapshot.is_some()).count()
        };
        assert_eq!(snapshots(), 1, "kept after the read");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(snapshots(), 0, "ended by the checkpointer's passes");
    }

    #[test]
    fn a_failed_statement_gives_back_a_usable_connection() {
        let (_dir, reader) = database();
        assert!(reader.read("SELECT nope FROM t", &[]).is_err());
        assert_eq!(reader.read("SELECT id FROM t", &[]).expect("rows").len(), 2);
    }
}
