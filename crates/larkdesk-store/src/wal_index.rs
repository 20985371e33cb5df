//! Whether anything was committed to a SQLite database since a moment, read off the header of
//! its log's index.
//!
//! The direct readers ([`crate::direct`]) read on from one snapshot while nothing was committed
//! since it began; the checkpointer reads from the same header how long the log is. Every commit to a database in WAL mode, by any connection of any process, is
//! published in the header of the log's index: the `-shm` file beside the database, which
//! every connection maps into its memory. SQLite writes that header (its `WalIndexHdr`, 48
//! bytes, kept twice) after the commit's frames are in the log and before `COMMIT` returns, and
//! every commit changes it (`iChange` counts the commits, `mxFrame` is the log's last frame,
//! the salts change when the log starts again). A commit that changed no page (an `UPDATE` to
//! the values a row holds) writes nothing to the log and leaves the header as it was: it
//! changed nothing a snapshot could miss. So a reader that finds the header as it was
//! when its snapshot began knows that no commit is missing from it; one that finds it changed
//! begins a new snapshot. A checkpoint does not change the header (it copies committed frames,
//! and records how far in another part of the index).
//!
//! The header is read where SQLite reads it: through the map of the index that SQLite made for
//! one connection (the store's writer), which every connection of this process shares. A few
//! loads from memory, where asking SQLite (a new read transaction) costs two file locks and
//! often an `fstat`. SQLite writes the second copy, then the first; a read that finds them
//! different caught a commit being published and answers `None` ("changed"). Not a map of the
//! file by its name: the file of that name need not be the one SQLite has open (the last
//! connection to close deletes it, and the next to open makes a new one).
//!
//! `unsafe` code, as in [`crate::log_writes`]: SQLite's file object and its method, called once
//! to learn where the index is mapped, and loads through that pointer into memory that SQLite
//! writes at the same time, from this process or another. They are aligned 4-byte atomic loads
//! (a map starts on a page). The map stays as long as the connection it was asked of is open:
//! the owner of a [`WalIndex`] keeps that connection open for as long as it (see
//! [`WalIndex::of`]).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering, fence};

use rusqlite::{Connection, ffi};

/// The header's size in 4-byte words.
const HEADER_WORDS: usize = 12;
/// The size of the index's regions, as SQLite maps them (its `WALINDEX_PGSZ`).
const REGION: i32 = 32 * 1024;

/// The header of the log's index at one moment: equal at two moments iff nothing was committed
/// between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version([u32; HEADER_WORDS]);

impl Version {
    /// The frames in the log up to its last commit (`mxFrame`, the header's fifth word), if
    /// SQLite has written the header (`isInit`, its byte 12).
    pub(crate) fn frames(self) -> Option<u32> {
        (self.0[3].to_ne_bytes()[0] == 1).then_some(self.0[4])
    }
}

/// Where SQLite maps the log index of one database file.
pub(crate) struct WalIndex {
    header: *const u32,
}

// SAFETY: `header` points into shared memory that stays mapped while the connection it was
// asked of is open (the owner's duty), and is only read, with atomic loads, from any thread.
unsafe impl Send for WalIndex {}
// SAFETY: as above.
unsafe impl Sync for WalIndex {}

impl WalIndex {
    /// The index of `conn`'s database, as SQLite mapped it for `conn`. `conn` must be in WAL
    /// mode and have read the database (which maps the index), and the caller must keep it open
    /// for as long as the answer, which points into that map.
    pub(crate) fn of(conn: &Connection) -> Result<Self, String> {
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        // SAFETY: `conn.handle()` is an open connection; SQLITE_FCNTL_FILE_POINTER writes the
        // main database's file object (SQLite's, alive while the connection is) to `file`.
        let rc = unsafe {
            ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&raw mut file).cast::<c_void>(),
            )
        };
        if rc != ffi::SQLITE_OK || file.is_null() {
            return Err(format!("no database file object (SQLite error {rc})"));
        }
        // SAFETY: `file` is the open file object SQLite gave; its methods are a static table.
        let methods = unsafe { (*file).pMethods };
        // SAFETY: as above; xShmMap exists from version 2 of the methods on.
        let shm_map = (!methods.is_null() && unsafe { (*methods).iVersion } >= 2)
            .then(|| unsafe { (*methods).xShmMap })
            .flatten()
            .ok_or("the database file has no shared memory")?;
        let mut region: *mut c_void = std::ptr::null_mut();
        // SAFETY: region 0 of the file's index at SQLite's own region size, not extended: the
        // map SQLite made for this connection (null if it has none: not in WAL mode, or not
        // read yet). The unix VFS locks its own state around this, so any thread may call it.
        let rc = unsafe { shm_map(file, 0, REGION, 0, &raw mut region) };
        if rc != ffi::SQLITE_OK || region.is_null() {
            return Err(format!(
                "the log's index is not mapped: is the database in WAL mode? (SQLite error {rc})"
            ));
        }
        Ok(Self {
            header: region.cast::<u32>().cast_const(),
        })
    }

    /// The header now, or `None` while a commit is being published (its two copies differ).
    pub(crate) fn version(&self) -> Option<Version> {
        let load = |i: usize| {
            // SAFETY: the region holds both copies of the header (2 * HEADER_WORDS words) and
            // stays mapped (see `of`); it starts on a page, so every word is aligned; an
            // AtomicU32 has u32's size and alignment, and only loads are made through it.
            unsafe { AtomicU32::from_ptr(self.header.add(i).cast_mut()) }.load(Ordering::Relaxed)
        };
        let first: [u32; HEADER_WORDS] = std::array::from_fn(load);
        let second: [u32; HEADER_WORDS] = std::array::from_fn(|i| load(HEADER_WORDS + i));
        // What this thread reads after the header (a new snapshot) is no older than it.
        fence(Ordering::Acquire);
        (first == second).then_some(Version(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn wal_database() -> (tempfile::TempDir, Connection, WalIndex) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER);")
            .expect("schema");
        let index = WalIndex::of(&conn).expect("the index");
        (dir, conn, index)
    }

    #[test]
    fn the_header_changes_with_every_commit_by_any_connection_and_only_then() {
        let (dir, conn, index) = wal_database();
        let now = || index.version().expect("a header, no commit under way");
        let at_start = now();
        conn.execute("INSERT INTO t VALUES (1)", []).expect("insert");
        let after_one = now();
        assert_ne!(after_one, at_start, "an autocommitted insert");
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);")
            .expect("begin");
        assert_eq!(now(), after_one, "nothing is published inside a transaction");
        conn.execute_batch("COMMIT").expect("commit");
        let after_two = now();
        assert_ne!(after_two, after_one, "one commit of two inserts");
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT").expect("empty");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .expect("read");
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (4); ROLLBACK")
            .expect("rollback");
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .expect("checkpoint");
        assert_eq!(
            now(),
            after_two,
            "an empty transaction, a read, a rollback and a checkpoint commit nothing"
        );
        let other = Connection::open(dir.path().join("t.db")).expect("another connection");
        other.execute("INSERT INTO t VALUES (5)", []).expect("insert");
        assert_ne!(now(), after_two, "another connection's commit");
    }

    #[test]
    fn a_database_not_in_wal_mode_has_no_index_to_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);")
            .expect("schema");
        assert!(WalIndex::of(&conn).is_err());
    }

    #[test]
    fn the_header_gives_the_frames_sqlite_counts() {
        let (_dir, conn, index) = wal_database();
        for n in 1..=3 {
            conn.execute("INSERT INTO t VALUES (randomblob(?1))", [n * 5000])
                .expect("a commit");
            // (busy, frames in the log, frames copied): copying changes no frame count.
            let frames: i64 = conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .expect("checkpoint");
            assert!(frames > 0);
            assert_eq!(
                index.version().and_then(|v| v.frames()).map(i64::from),
                Some(frames),
                "commit {n}"
            );
        }
    }
}
