//! The SQLite database file holds the token signing key: created 0600 with its WAL and SHM,
//! refused when others can read it unless `--allow-shared-db-file` (issue 22, Medium 6).

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

use crate::common::TestServer;

fn sqlite_backend() -> bool {
    std::env::var("LARKDESK_TEST_BACKEND").as_deref() != Ok("postgres")
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Start `serve` on `db` and expect it to exit at once; its stderr.
async fn refused(db: &std::path::Path) -> String {
    let url = format!("sqlite://{}", db.display());
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
            .args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("larkdesk exits at once on a database file others can read")
    .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_wal_and_shm_are_private_to_the_owner() {
    if !sqlite_backend() {
        return;
    }
    // Even under a permissive umask (the test runner's is usually 022).
    let server = TestServer::start().await;
    assert_eq!(
        server.demo_get_ticket(&server.demo().ticket_ids[0]).await.status,
        200
    );
    let db = server.db_url.strip_prefix("sqlite://").unwrap().to_owned();
    let db = std::path::Path::new(&db);
    assert_eq!(mode(db), 0o600, "database file");
    for suffix in ["-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert!(
            path.exists(),
            "{} exists while serving (WAL mode)",
            path.display()
        );
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_database_readable_by_others_is_refused_unless_allowed() {
    if !sqlite_backend() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let url = format!("sqlite://{}", db.display());
    drop(TestServer::spawn_on(&url, &[]).await);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();

    let stderr = refused(&db).await;
    assert!(stderr.contains("--allow-shared-db-file"), "{stderr}");
    assert!(stderr.contains("0644"), "{stderr}");
    assert_eq!(mode(&db), 0o644, "the file is left as it was");

    // A -wal left readable by others is refused as well.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wal = dir.path().join("shared.db-wal");
    std::fs::write(&wal, b"").unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o640)).unwrap();
    let stderr = refused(&db).await;
    assert!(stderr.contains("shared.db-wal"), "{stderr}");
    std::fs::remove_file(&wal).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();

    // The operator says it is meant to be shared.
    let server = TestServer::spawn_on(&url, &["--allow-shared-db-file"]).await;
    let r = server
        .admin_raw("/tenants", serde_json::json!({"name": "after"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
