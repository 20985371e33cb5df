//! A count of the commits a SQLite connection made, through SQLite's WAL hook.
//!
//! The direct readers ([`crate::direct`]) read on from one snapshot while nothing was committed
//! since it began; they learn that from this count, kept for the writer connection. SQLite calls
//! the hook after a commit that wrote to the log is complete (its frames in the log, the log's
//! index updated, the write lock released), so a reader that finds the count unchanged knows no
//! commit acknowledged since it loaded the count is missing from its snapshot. A commit that
//! wrote nothing calls no hook, and changed nothing.
//!
//! The hook replaces SQLite's automatic checkpoints on that connection (they are the default
//! WAL hook); the writer has them off anyway (`wal_autocheckpoint = 0`, a checkpointer thread
//! does them), and must not turn them on again, which would replace this hook.
//!
//! `unsafe` code, as in [`crate::log_writes`]: a C callback and the pointer it is given. The
//! count it is given lives in an [`Arc`] that the connection's owner keeps for as long as the
//! connection is open (see [`count_commits`]).

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, ffi};

/// Counts `conn`'s commits in `commits` from now on. The caller keeps the returned [`Arc`] (the
/// same count) for at least as long as `conn` is open: the hook holds a plain pointer to it.
#[must_use = "the count must outlive the connection"]
pub(crate) fn count_commits(conn: &Connection, commits: Arc<AtomicU64>) -> Arc<AtomicU64> {
    // SAFETY: `handle` is the open connection's; the pointer stays valid while the caller keeps
    // the returned Arc, which it must for as long as the connection is open.
    unsafe {
        ffi::sqlite3_wal_hook(
            conn.handle(),
            Some(on_commit),
            Arc::as_ptr(&commits).cast::<c_void>().cast_mut(),
        );
    }
    commits
}

unsafe extern "C" fn on_commit(
    count: *mut c_void,
    _: *mut ffi::sqlite3,
    _: *const c_char,
    _: c_int,
) -> c_int {
    // SAFETY: `count` is the AtomicU64 that `count_commits` registered, kept alive by its caller.
    let count = unsafe { &*count.cast::<AtomicU64>() };
    count.fetch_add(1, Ordering::Release);
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER);")
            .expect("schema");
        (dir, conn)
    }

    #[test]
    fn counts_commits_that_change_something_and_only_those() {
        let (_dir, conn) = wal_database();
        let commits = count_commits(&conn, Arc::default());
        let count = || commits.load(Ordering::Acquire);
        conn.execute("INSERT INTO t VALUES (1)", []).expect("insert");
        assert_eq!(count(), 1, "an autocommitted insert");
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);")
            .expect("begin");
        assert_eq!(count(), 1, "nothing committed inside a transaction");
        conn.execute_batch("COMMIT").expect("commit");
        assert_eq!(count(), 2, "one commit of two inserts");
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT").expect("empty");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .expect("read");
        assert_eq!(count(), 2, "an empty transaction and a read commit nothing");
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (4); ROLLBACK")
            .expect("rollback");
        assert_eq!(count(), 2, "a rollback commits nothing");
    }
}
