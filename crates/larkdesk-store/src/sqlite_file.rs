//! The SQLite database file holds secrets (the token signing key, credential digests): it is
//! created readable by its owner only, and an existing one that others can read is refused
//! unless the operator says it is meant to be shared.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

/// The database file of a `sqlite:` URL, or `None` for an in-memory database.
fn database_file(url: &str) -> anyhow::Result<Option<PathBuf>> {
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    Ok((!in_memory(url, file)).then(|| file.to_path_buf()))
}

/// Whether the SQLite database of `url` (whose file name sqlx reads as `file`) lives in memory
/// only: then there is no file to secure, map or write through. sqlx names `sqlite::memory:`
/// `file:sqlx-in-memory-N`, which is no file either.
pub(crate) fn in_memory(url: &str, file: &Path) -> bool {
    file.as_os_str().is_empty()
        || file == Path::new(":memory:")
        || file.to_string_lossy().starts_with("file:sqlx-in-memory-")
        || url.contains(":memory:")
        || url.contains("mode=memory")
}

/// Before a `sqlite:` URL is opened: create its database file with mode 0600 if it does not
/// exist (SQLite gives the `-wal` and `-shm` files it creates the database file's mode), and
/// refuse (unless `allow_shared`) if the file or an existing `-wal`/`-shm` beside it grants any
/// access to group or others. Other URLs are left alone.
pub fn secure_sqlite_file(url: &str, allow_shared: bool) -> anyhow::Result<()> {
    if !url.starts_with("sqlite:") {
        return Ok(());
    }
    let Some(file) = database_file(url)? else {
        return Ok(());
    };
    secure(&file, allow_shared)
}

#[cfg(unix)]
fn secure(file: &Path, allow_shared: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => {
            // `mode` is filtered by the umask, which can only remove bits: 0600 or less.
            return Ok(());
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!("cannot create the database file {}: {e}", file.display()),
    }
    if allow_shared {
        return Ok(());
    }
    let mut paths = vec![file.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        paths.push(PathBuf::from(name));
    }
    for path in paths {
        let mode = match std::fs::metadata(&path) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => anyhow::bail!("cannot read the mode of {}: {e}", path.display()),
        };
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} is accessible to other users (mode {:04o}) and holds secrets (the token \
                 signing key): run `chmod 600 {}` (and the same for its -wal and -shm files), \
                 or start with --allow-shared-db-file if it is meant to be shared",
                path.display(),
                mode & 0o7777,
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn secure(_: &Path, _: bool) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod in_memory_tests {
    use super::*;

    #[test]
    fn an_in_memory_url_names_no_file_and_creates_none() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://file:x?mode=memory&cache=shared",
        ] {
            assert_eq!(database_file(url).unwrap(), None, "{url}");
            secure_sqlite_file(url, false).unwrap();
        }
        assert!(!Path::new("file:sqlx-in-memory-0").exists());
        assert!(!Path::new(":memory:").exists());
        assert!(database_file("sqlite:///tmp/larkdesk-x.db").unwrap().is_some());
    }
}
