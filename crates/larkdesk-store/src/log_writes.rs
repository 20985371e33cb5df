//! The write-ahead log's writes, gathered: a few large writes per commit instead of two per page.
//!
//! SQLite appends a commit to the log one frame at a time, and each frame with two writes: its
//! 24-byte header, then the page. A group commit of 64 message posts appends about 220 frames, so
//! 440 `pwrite` calls, and each touches the page cache for every 4 KiB block it overlaps (a page
//! after its header straddles two): in a profile of message posts, those writes were 12% of the
//! server's CPU. This module registers a SQLite VFS ([`VFS_NAME`]) that is the platform's own
//! ("unix") but for the log files it opens, where
//!
//! - **a frame appended to the log is gathered in memory**, with the frames before it, and
//! - **the gathered frames are written, in pieces of at most [`PIECE`], as soon as a commit's
//!   last frame is complete** (its header's "database size" field is non-zero only on the last
//!   frame of a commit), which is before SQLite publishes the commit in the log's index (shared
//!   memory, not a file write). No
//!   reader, in this process or another, can then see a commit whose frames are not in the file,
//!   and a commit is in the file (the kernel's page cache) when `COMMIT` returns, as before: a
//!   `kill -9` loses nothing it did not lose before.
//! - **Every other write** (the log's header, a frame SQLite overwrites in place, a checksum it
//!   rewrites, the pieces of a frame split at a sync point) first writes what was gathered, then
//!   goes to the file as it came; **every other operation** that looks at the file (a read, a
//!   sync, a truncation, its size, a file control, closing it) writes what was gathered first.
//!   Frames are written in the order SQLite wrote them, and a frame is never read back from
//!   memory: a read finds it in the file.
//!
//! Connections are opened with [`open`], which turns SQLite's cache spill off (`PRAGMA
//! cache_spill = OFF`): a transaction's changed pages then stay in its page cache until it
//! commits, however many, instead of going to the log as they are evicted, so **every frame
//! gathered is a commit's, and is written before SQLite's call that wrote it returns**. A page
//! spilled by a transaction that is then rolled back could otherwise stay gathered after the
//! transaction ended, and be written later over frames another writer had committed there since.
//! (larkdesk's largest transactions are a group of 64 changes or a batch of 1,000 generated
//! tickets, a few MB.)
//!
//! At most [`MAX_GATHERED`] bytes are held; a larger transaction is written in pieces of that
//! size before its commit frame (uncommitted frames can be in the file at any time: the log's
//! checksums make recovery ignore them). The main database file, journals and the log's index
//! are the platform VFS's own files, untouched.
//!
//! One of the two modules of larkdesk with `unsafe` code (the other is [`crate::wal_index`],
//! loads from SQLite's shared memory): a SQLite VFS is a C interface of
//! function pointers over memory SQLite allocates. Its rules: the platform VFS's file object
//! comes first in the memory SQLite gives us (so its own methods can be handed our pointer
//! unchanged), our [`Gathered`] state after it; only log files get our methods; no method
//! panics (no indexing, no unwrap on what SQLite passes).

#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::mem::{align_of, size_of};
use std::path::Path;
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags, ffi};

/// The VFS's name.
const VFS_NAME: &str = "larkdesk-log";
const VFS_NAME_C: &CStr = c"larkdesk-log";

/// The most bytes of frames held before they are written (a group commit of 64 message posts is
/// about 900 KB).
const MAX_GATHERED: usize = 4 << 20;

/// The most one write hands the platform VFS: its `unixWrite` takes less than 128 KiB at a time
/// (larger writes come back short and fail as "disk full"). Pieces end on multiples of this in the
/// file, so each covers whole 4 KiB blocks but for the first and last.
const PIECE: i64 = 96 << 10;

/// A frame's header: page number, database size after the commit (non-zero only on a commit's
/// last frame), salts and checksums.
pub(crate) const FRAME_HEADER: usize = 24;

/// Opens `path` through this VFS (registering it once per process), with the cache spill off.
pub fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(why) = REGISTERED.get_or_init(register) {
        let code = ffi::Error::new(ffi::SQLITE_ERROR);
        return Err(rusqlite::Error::SqliteFailure(code, Some(why.clone())));
    }
    let conn = Connection::open_with_flags_and_vfs(path, flags, VFS_NAME)?;
    conn.pragma_update(None, "cache_spill", false)?;
    Ok(conn)
}

/// The platform VFS and where our state sits in a file object of ours.
struct Platform {
    vfs: *mut ffi::sqlite3_vfs,
    gathered_at: usize,
}

// SAFETY: the platform VFS is a static object of SQLite's, never freed, and thread-safe.
unsafe impl Send for Platform {}
// SAFETY: as above.
unsafe impl Sync for Platform {}

static PLATFORM: OnceLock<Platform> = OnceLock::new();

fn register() -> Result<(), String> {
    // SAFETY: sqlite3_vfs_find initializes SQLite and returns the default VFS or null.
    let platform = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
    if platform.is_null() {
        return Err("SQLite has no default VFS".to_owned());
    }
    // SAFETY: `platform` is SQLite's default VFS, valid for the life of the process.
    let mut vfs = unsafe { std::ptr::read(platform) };
    let platform_size = usize::try_from(vfs.szOsFile).map_err(|_| "bad szOsFile".to_owned())?;
    let gathered_at = platform_size.next_multiple_of(align_of::<Gathered>());
    vfs.szOsFile =
        c_int::try_from(gathered_at + size_of::<Gathered>()).map_err(|_| "bad szOsFile".to_owned())?;
    vfs.pNext = std::ptr::null_mut();
    vfs.zName = VFS_NAME_C.as_ptr();
    vfs.xOpen = Some(open_file);
    if PLATFORM
        .set(Platform {
            vfs: platform,
            gathered_at,
        })
        .is_err()
    {
        return Err("the log VFS was registered twice".to_owned());
    }
    // Leaked: SQLite keeps the pointer for the life of the process.
    let vfs = Box::into_raw(Box::new(vfs));
    // SAFETY: `vfs` is a complete VFS that lives forever; not made the default.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!("registering the log VFS failed ({rc})"))
    }
}

/// What a log file of ours holds besides the platform's file object.
struct Gathered {
    /// The platform's methods for this file.
    methods: *const ffi::sqlite3_io_methods,
    /// Frames not yet written, to go at `at`.
    bytes: Vec<u8>,
    at: i64,
    /// Where the page of the frame header just gathered goes, and whether it ends a commit.
    page_at: Option<(i64, bool)>,
    /// The end of the last frame appended: a write below it is one in place.
    log_end: i64,
}

fn platform() -> &'static Platform {
    PLATFORM.get().expect("set before the VFS is registered")
}

/// Our state in a log file of ours.
///
/// # Safety
/// `file` is a file object opened by [`open_file`] as a log file, not yet closed.
unsafe fn gathered<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Gathered {
    // SAFETY: `open_file` wrote a Gathered at this offset of SQLite's szOsFile-sized allocation.
    unsafe { &mut *file.cast::<u8>().add(platform().gathered_at).cast::<Gathered>() }
}

unsafe extern "C" fn open_file(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let platform = platform();
    // SAFETY: the platform VFS opens into the first szOsFile bytes of ours, with its own pointer
    // (its open reads its own pAppData).
    let rc = unsafe {
        ((*platform.vfs).xOpen.expect("every VFS opens"))(platform.vfs, name, file, flags, out_flags)
    };
    // SAFETY: after a successful open, `file` holds the platform's file object.
    if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 || unsafe { (*file).pMethods.is_null() } {
        return rc;
    }
    // SAFETY: the bytes after the platform's object are ours (szOsFile), uninitialized.
    unsafe {
        let state = file.cast::<u8>().add(platform.gathered_at).cast::<Gathered>();
        state.write(Gathered {
            methods: (*file).pMethods,
            bytes: Vec::new(),
            at: 0,
            page_at: None,
            log_end: 0,
        });
        (*file).pMethods = &LOG_METHODS;
    }
    rc
}

static LOG_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// The platform's methods of a log file of ours.
///
/// # Safety
/// As [`gathered`].
unsafe fn methods<'a>(file: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    // SAFETY: `methods` is the platform's static method table.
    unsafe { &*gathered(file).methods }
}

/// Writes `len` bytes at `at` through the platform's method.
///
/// # Safety
/// As [`gathered`]; `bytes` is valid for `len` bytes.
unsafe fn write_through(file: *mut ffi::sqlite3_file, bytes: *const c_void, len: usize, at: i64) -> c_int {
    let Ok(len) = c_int::try_from(len) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    #[cfg(test)]
    tests::WRITES.with(|writes| writes.set(writes.get() + 1));
    // SAFETY: the caller's contract; the platform's xWrite always exists.
    unsafe { (methods(file).xWrite.expect("every file writes"))(file, bytes, len, at) }
}

/// Writes what was gathered, if anything.
///
/// # Safety
/// As [`gathered`].
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: the caller's contract.
    let state = unsafe { gathered(file) };
    state.page_at = None;
    if state.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let (bytes, len, at) = (state.bytes.as_ptr(), state.bytes.len(), state.at);
    let mut rc = ffi::SQLITE_OK;
    let mut done = 0;
    while done < len && rc == ffi::SQLITE_OK {
        let offset = at + done as i64;
        let piece =
            usize::try_from(PIECE - offset.rem_euclid(PIECE)).map_or(len - done, |p| p.min(len - done));
        // SAFETY: `bytes` is the gathered buffer of `len` bytes, untouched until the writes return.
        rc = unsafe { write_through(file, bytes.add(done).cast(), piece, offset) };
        done += piece;
    }
    // On failure the frames are dropped: SQLite fails the transaction that wrote them.
    // SAFETY: as above; `write_through` does not touch our state.
    unsafe { gathered(file) }.bytes.clear();
    rc
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    offset: i64,
) -> c_int {
    let Ok(len) = usize::try_from(amt) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    // SAFETY: SQLite passes a buffer of `amt` bytes.
    let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    // SAFETY: SQLite calls our methods only on files `open_file` made ours.
    let state = unsafe { gathered(file) };
    let end = offset + i64::from(amt);
    let appended_header = len == FRAME_HEADER && offset >= state.log_end;
    let its_page = state.page_at.filter(|&(at, _)| at == offset);
    if !appended_header && its_page.is_none() {
        // The log's header (a new log: appends start again after it), or a write in place.
        // SAFETY: as above.
        let rc = unsafe { flush(file) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: as above; `data` is SQLite's buffer.
        let rc = unsafe { write_through(file, buf, len, offset) };
        // SAFETY: as above.
        let state = unsafe { gathered(file) };
        state.log_end = if offset == 0 { end } else { state.log_end.max(end) };
        return rc;
    }
    if !state.bytes.is_empty() && state.at + state.bytes.len() as i64 != offset {
        // SAFETY: as above.
        let rc = unsafe { flush(file) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    // SAFETY: as above.
    let state = unsafe { gathered(file) };
    if state.bytes.is_empty() {
        state.at = offset;
    }
    state.bytes.extend_from_slice(data);
    state.log_end = end;
    let ends_commit = match its_page {
        Some((_, commit)) => {
            state.page_at = None;
            commit
        }
        None => {
            let commit = data.get(4..8).is_some_and(|size| size != [0; 4]);
            state.page_at = Some((end, commit));
            false
        }
    };
    if ends_commit || state.bytes.len() >= MAX_GATHERED {
        // SAFETY: as above.
        return unsafe { flush(file) };
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file of ours once; our state is dropped before the platform's
    // close and never used again.
    unsafe {
        let flushed = flush(file);
        let close = methods(file).xClose.expect("every file closes");
        std::ptr::drop_in_place(gathered(file) as *mut Gathered);
        let rc = close(file);
        if flushed != ffi::SQLITE_OK { flushed } else { rc }
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: a file of ours.
    unsafe {
        let rc = flush(file);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let state = gathered(file);
        state.log_end = state.log_end.min(size);
        (methods(file).xTruncate.expect("every file truncates"))(file, size)
    }
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amt: c_int,
    pp: *mut *mut c_void,
) -> c_int {
    // SAFETY: a file of ours; without the method, SQLite reads instead (null).
    unsafe {
        let rc = flush(file);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        match methods(file).xFetch {
            Some(fetch) => fetch(file, offset, amt, pp),
            None => {
                *pp = std::ptr::null_mut();
                ffi::SQLITE_OK
            }
        }
    }
}

/// A method passed to the platform's: `flush` first for those that look at the file's bytes
/// or state (what was gathered is written before), without for those that do not.
macro_rules! pass_on {
    (flush $name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: a file of ours.
            let rc = unsafe { flush(file) };
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            pass_on!(@call file, $field, ($($arg),*), $missing)
        }
    };
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            pass_on!(@call file, $field, ($($arg),*), $missing)
        }
    };
    (@call $file:ident, $field:ident, ($($arg:ident),*), $missing:expr) => {
        // SAFETY: a file of ours; the arguments are passed on as SQLite gave them.
        unsafe {
            match methods($file).$field {
                Some(method) => method($file $(, $arg)*),
                None => $missing,
            }
        }
    };
}

pass_on!(flush read, xRead, (buf: *mut c_void, amt: c_int, offset: i64), ffi::SQLITE_IOERR_READ);
pass_on!(flush sync, xSync, (flags: c_int), ffi::SQLITE_IOERR_FSYNC);
pass_on!(flush file_size, xFileSize, (size: *mut i64), ffi::SQLITE_IOERR_FSTAT);
pass_on!(flush file_control, xFileControl, (op: c_int, arg: *mut c_void), ffi::SQLITE_NOTFOUND);

pass_on!(lock, xLock, (level: c_int), ffi::SQLITE_IOERR_LOCK);
pass_on!(unlock, xUnlock, (level: c_int), ffi::SQLITE_IOERR_UNLOCK);
pass_on!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int), ffi::SQLITE_IOERR_CHECKRESERVEDLOCK);
pass_on!(sector_size, xSectorSize, (), 4096);
pass_on!(device_characteristics, xDeviceCharacteristics, (), 0);
pass_on!(shm_map, xShmMap, (page: c_int, size: c_int, extend: c_int, pp: *mut *mut c_void), ffi::SQLITE_IOERR_SHMMAP);
pass_on!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int), ffi::SQLITE_IOERR_SHMLOCK);
pass_on!(shm_unmap, xShmUnmap, (delete: c_int), ffi::SQLITE_OK);
pass_on!(unfetch, xUnfetch, (offset: i64, p: *mut c_void), ffi::SQLITE_OK);

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: a file of ours.
    unsafe {
        if let Some(barrier) = methods(file).xShmBarrier {
            barrier(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// The writes this thread's log files handed to the platform VFS.
        pub(super) static WRITES: Cell<u64> = const { Cell::new(0) };
    }

    fn writes() -> u64 {
        WRITES.with(Cell::get)
    }

    fn open_ours(path: &Path) -> Connection {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = open(path, flags).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE IF NOT EXISTS pages (id INTEGER PRIMARY KEY, b BLOB NOT NULL);",
        )
        .unwrap();
        conn
    }

    /// Inserts `rows` rows of a page each in one transaction, from id `first`.
    fn insert(conn: &Connection, first: i64, rows: i64) {
        conn.execute_batch("BEGIN").unwrap();
        for id in first..first + rows {
            conn.execute("INSERT INTO pages (id, b) VALUES (?1, zeroblob(4000))", [id])
                .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
    }

    /// What a process that was killed now would leave: the database and its log as the kernel
    /// has them (no index: recovery rebuilds it from the log's checksums), opened elsewhere
    /// with the platform's VFS.
    fn count_after_kill(dir: &Path) -> i64 {
        let copy = dir.join("copy");
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(dir.join("db"), copy.join("db")).unwrap();
        std::fs::copy(dir.join("db-wal"), copy.join("db-wal")).unwrap();
        let _ = std::fs::remove_file(copy.join("db-shm"));
        let conn = Connection::open(copy.join("db")).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let count = conn
            .query_row("SELECT count(*) FROM pages", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        std::fs::remove_dir_all(&copy).unwrap();
        count
    }

    #[test]
    fn a_commit_reaches_the_file_in_one_write_before_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_ours(&dir.path().join("db"));
        insert(&conn, 0, 1);
        for round in 1..=3 {
            let before = writes();
            insert(&conn, round * 100, 100);
            // 100 new table pages and a few interior ones (about 420 KB of frames, 210 writes
            // one by one): pieces of at most 96 KiB.
            let writes = writes() - before;
            assert!((5..=6).contains(&writes), "round {round}: {writes} writes");
            assert_eq!(count_after_kill(dir.path()), 1 + round * 100);
        }
        // Another connection, through the platform's VFS, sees every commit.
        let other = Connection::open(dir.path().join("db")).unwrap();
        let count: i64 = other
            .query_row("SELECT count(*) FROM pages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 301);
    }

    #[test]
    fn a_transaction_larger_than_the_gathering_is_written_in_pieces_and_commits_whole() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_ours(&dir.path().join("db"));
        // A page cache that holds the whole transaction: its 12 MB of frames are all written at
        // the commit, 4 MiB at a time, in pieces of at most 96 KiB.
        conn.execute_batch("PRAGMA cache_size = -65536").unwrap();
        let before = writes();
        insert(&conn, 0, 3000);
        let writes = writes() - before;
        assert!((125..=135).contains(&writes), "{writes} writes");
        assert_eq!(count_after_kill(dir.path()), 3000);
    }

    #[test]
    fn frames_rewritten_in_place_and_their_checksums_reach_the_file_before_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_ours(&dir.path().join("db"));
        insert(&conn, 0, 200);
        // A page cache of 20 pages and the spill on (larkdesk's connections keep it off, but
        // the VFS stays right with it): the transaction's pages spill to the log, are changed
        // again and overwritten in place, and SQLite rewrites the checksums of every frame
        // from the first overwritten one at commit, the commit frame's last.
        conn.execute_batch("PRAGMA cache_spill = ON; PRAGMA cache_size = 20; BEGIN")
            .unwrap();
        for pass in 0..3 {
            for id in 0..200 {
                conn.execute(
                    "UPDATE pages SET b = zeroblob(3990 + ?1) WHERE id = ?2",
                    [pass, id],
                )
                .unwrap();
            }
        }
        conn.execute("INSERT INTO pages (id, b) VALUES (1000, zeroblob(10))", [])
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        assert_eq!(count_after_kill(dir.path()), 201);
        let size: i64 = Connection::open(dir.path().join("db"))
            .unwrap()
            .query_row("SELECT sum(length(b)) FROM pages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(size, 200 * 3992 + 10);
    }

    #[test]
    fn a_transaction_rolled_back_leaves_nothing_to_overwrite_another_writers_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let ours = open_ours(&path);
        insert(&ours, 0, 1);
        // More pages than the page cache holds, then undone: were pages spilled to the log
        // mid-transaction and kept gathered, they could be written later, over whatever another
        // writer had committed there since. Nothing reaches the log.
        ours.execute_batch("PRAGMA cache_size = 10; BEGIN").unwrap();
        let before = writes();
        for id in 1..200 {
            ours.execute("INSERT INTO pages (id, b) VALUES (?1, zeroblob(4000))", [id])
                .unwrap();
        }
        ours.execute_batch("ROLLBACK").unwrap();
        assert_eq!(writes() - before, 0);
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN").unwrap();
        for id in 1000..1100 {
            other
                .execute("INSERT INTO pages (id, b) VALUES (?1, randomblob(4000))", [id])
                .unwrap();
        }
        other.execute_batch("COMMIT").unwrap();
        // Our connection reads the other's frames (through its own handle on the log).
        let count: i64 = ours
            .query_row("SELECT count(*) FROM pages WHERE length(b) = 4000", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(count, 101);
        assert_eq!(count_after_kill(dir.path()), 101);
    }

    #[test]
    fn a_log_started_again_is_appended_from_its_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_ours(&dir.path().join("db"));
        for round in 0..5 {
            insert(&conn, round * 50, 50);
            // Copies the whole log: the next commit starts it again from its header.
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .unwrap();
            let before = writes();
            insert(&conn, 10_000 + round * 50, 50);
            // The log's header, then the frames (about 210 KB).
            let writes = writes() - before;
            assert!((3..=4).contains(&writes), "round {round}: {writes} writes");
            assert_eq!(count_after_kill(dir.path()), (round + 1) * 100);
        }
    }
}
