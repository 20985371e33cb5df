//! The admin surface: HTTP under /larkdesk/admin/v1 and the `larkdesk admin` CLI.

use serde_json::{Value, json};

use crate::common::{TestServer, assert_admin_error, assert_feishu_error, helpdesk_header};

#[tokio::test]
async fn admin_api_requires_the_admin_token() {
    let server = TestServer::start().await;
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/tenants"))
                .body(r#"{"name":"x"}"#),
        )
        .await;
    assert_admin_error(&r, 401, 154001);
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/tenants"))
                .bearer_auth("ldadm-wrong")
                .body(r#"{"name":"x"}"#),
        )
        .await;
    assert_admin_error(&r, 401, 154001);
    // A tenant token is not an admin token.
    let token = server.demo_token().await;
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/tenants"))
                .bearer_auth(token)
                .body(r#"{"name":"x"}"#),
        )
        .await;
    assert_admin_error(&r, 401, 154001);
}

#[tokio::test]
async fn bad_admin_input_is_400_154000() {
    let server = TestServer::start().await;
    for (path, body) in [
        ("/tenants", json!({})),
        ("/tenants", json!({"name": "x", "tenant_key": "bad key!"})),
        ("/apps", json!({"tenant_key": "nope", "name": "x"})),
        (
            "/apps",
            json!({"tenant_key": server.demo().tenant_key, "name": "x", "app_type": "weird"}),
        ),
        (
            "/helpdesks",
            json!({"tenant_key": server.demo().tenant_key, "name": "x", "helpdesk_id": "abc"}),
        ),
        (
            "/helpdesks/1/tickets",
            json!({"guest": {"id": "ou_1"}, "ticket_type": 1, "status": 1, "created_at": 1}),
        ),
        (
            &format!("/helpdesks/{}/tickets", server.demo().helpdesk_id),
            json!({"ticket_id": "x1", "guest": {"id": "ou_1"}, "ticket_type": 1, "status": 1, "created_at": 1}),
        ),
        (
            &format!("/helpdesks/{}/tickets", server.demo().helpdesk_id),
            json!({"guest": {"id": ""}, "ticket_type": 1, "status": 1, "created_at": 1}),
        ),
    ] {
        let r = server.admin_raw(path, body.clone()).await;
        assert!(r.status == 400 || r.status == 404, "{path} {body}: {}", r.text);
        assert!([154000, 154004].contains(&r.code()), "{path} {body}: {}", r.text);
    }
    // A duplicate ticket id does not overwrite the stored ticket.
    let id = server.demo().ticket_ids[0].clone();
    let before = server.demo_get_ticket(&id).await.json();
    let r = server
        .admin_raw(
            &format!("/helpdesks/{}/tickets", server.demo().helpdesk_id),
            json!({"ticket_id": id, "guest": {"id": "ou_1"}, "ticket_type": 1, "status": 1, "created_at": 1}),
        )
        .await;
    assert_admin_error(&r, 400, 154000);
    assert_eq!(server.demo_get_ticket(&id).await.json()["data"], before["data"]);
}

#[tokio::test]
async fn rotating_the_app_secret_keeps_issued_tokens_valid() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let old_token = server.demo_token().await;
    let rotated = server
        .admin(&format!("/apps/{}/rotate_secret", demo.app_id), json!({}))
        .await;
    let new_secret = rotated["app_secret"].as_str().unwrap();
    assert_ne!(new_secret, demo.app_secret);
    let r = server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    assert_eq!(r.code(), 10014);
    server.tenant_token(&demo.app_id, new_secret).await;
    let r = server
        .get_ticket(
            &demo.ticket_ids[0],
            Some(&old_token),
            Some(&server.demo_helpdesk_header()),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn rotating_the_helpdesk_token_invalidates_the_old_one() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let token = server.demo_token().await;
    let rotated = server
        .admin(
            &format!("/helpdesks/{}/rotate_token", demo.helpdesk_id),
            json!({}),
        )
        .await;
    let new_token = rotated["helpdesk_token"].as_str().unwrap();
    let old = server
        .get_ticket(
            &demo.ticket_ids[0],
            Some(&token),
            Some(&server.demo_helpdesk_header()),
        )
        .await;
    assert_feishu_error(&old, 401, 154001);
    let new = server
        .get_ticket(
            &demo.ticket_ids[0],
            Some(&token),
            Some(&helpdesk_header(&demo.helpdesk_id, new_token)),
        )
        .await;
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn users_created_by_admin_appear_in_tickets() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let user = server
        .admin("/users", json!({"tenant_key": demo.tenant_key, "name": "Agent Smith", "email": "s@example.com", "is_agent": true}))
        .await;
    let open_id = user["id"].as_str().unwrap();
    assert!(open_id.starts_with("ou_"));
    let imported = server
        .admin(
            &format!("/helpdesks/{}/tickets", demo.helpdesk_id),
            json!({"guest": {"id": "ou_g"}, "agents": [{"id": open_id}], "ticket_type": 2, "status": 2, "created_at": 5}),
        )
        .await;
    let r = server
        .demo_get_ticket(imported["ticket_id"].as_str().unwrap())
        .await;
    let agent = &r.json()["data"]["ticket"]["agents"][0];
    // The import named only the id; the directory entry is kept, not blanked.
    assert_eq!(agent["id"], json!(open_id));
    assert_eq!(agent["name"], json!("Agent Smith"));
    assert_eq!(agent["email"], json!("s@example.com"));
}

#[test]
fn an_out_of_range_ticket_cache_ttl_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        // A database that cannot open: were the value accepted, serve would exit on that instead.
        .args(["--database-url", "sqlite:///nonexistent-dir/larkdesk.db"])
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--ticket-cache-ms",
            "18446744073709551615",
        ])
        .env("LARKDESK_LOG", "warn")
        .output()
        .expect("run larkdesk serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ticket-cache-ms"), "{stderr}");
}

pub(crate) fn cli(db_url: &str, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["--database-url", db_url, "admin"])
        .args(args)
        .env("LARKDESK_LOG", "warn")
        .output()
        .expect("run larkdesk admin");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("CLI prints JSON")
}

#[tokio::test]
async fn cli_creates_a_working_installation() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let tenant = cli(&db, &["create-tenant", "--name", "Acme"]);
    let key = tenant["tenant_key"].as_str().unwrap();
    let app = cli(
        &db,
        &[
            "create-app",
            "--tenant-key",
            key,
            "--name",
            "bot",
            "--scopes",
            "helpdesk:all",
        ],
    );
    assert_eq!(app["scopes"], json!(["helpdesk:all"]));
    let helpdesk = cli(&db, &["create-helpdesk", "--tenant-key", key, "--name", "IT"]);
    let hd_id = helpdesk["helpdesk_id"].as_str().unwrap();
    let ticket_file = dir.path().join("t.json");
    std::fs::write(
        &ticket_file,
        json!({"guest": {"id": "ou_1", "name": "Ann"}, "ticket_type": 1, "status": 1, "created_at": 10})
            .to_string(),
    )
    .unwrap();
    let imported = cli(
        &db,
        &[
            "import-ticket",
            "--helpdesk-id",
            hd_id,
            "--file",
            ticket_file.to_str().unwrap(),
        ],
    );
    let rotated = cli(
        &db,
        &["rotate-app-secret", "--app-id", app["app_id"].as_str().unwrap()],
    );

    // A server on that database, without demo data (the database is not empty).
    let server = TestServer::spawn_on(&db, &["--no-demo"]).await;
    assert!(server.demo.is_none());
    let token = server
        .tenant_token(
            app["app_id"].as_str().unwrap(),
            rotated["app_secret"].as_str().unwrap(),
        )
        .await;
    let header = helpdesk_header(hd_id, helpdesk["helpdesk_token"].as_str().unwrap());
    let r = server
        .get_ticket(
            imported["ticket_id"].as_str().unwrap(),
            Some(&token),
            Some(&header),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["ticket"]["guest"]["name"], json!("Ann"));
}

/// `generate-tickets` loads with a bulk-load connection setup (no flush per commit, a large
/// SQLite page cache), several batches at once with `--jobs`: what it loaded must still be
/// whole and readable by the server.
#[tokio::test]
async fn generated_tickets_are_readable_through_the_api() {
    let server = TestServer::start_with(&["--no-rate-limit"]).await;
    let helpdesk_id = server.demo().helpdesk_id.clone();
    let report = cli(
        &server.db_url,
        &[
            "generate-tickets",
            "--helpdesk-id",
            &helpdesk_id,
            "--count",
            "3500",
            "--seed",
            "7",
            "--jobs",
            "3",
        ],
    );
    assert_eq!(report["tickets"], json!(3500));
    assert_eq!(report["jobs"], json!(3));
    let token = server.demo_token().await;
    let list = server
        .send(
            server
                .http
                .get(server.url("/open-apis/helpdesk/v1/tickets?page_size=100"))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header()),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let data = &list.json()["data"];
    // The demo's own tickets plus the 3500 (four generator batches, three written at once).
    let demo_tickets = server.demo().ticket_ids.len() as u64;
    assert_eq!(data["total"], json!(3500 + demo_tickets));
    let tickets = data["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 100);
    for ticket in tickets.iter().take(10) {
        let id = ticket["ticket_id"].as_str().unwrap();
        let r = server.demo_get_ticket(id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json()["data"]["ticket"],
            *ticket,
            "the list and GET agree on {id}"
        );
    }
}

/// A bulk load does not flush as it goes; when `generate-tickets` returns, its SQLite WAL has
/// been checkpointed into the database file and truncated. Without a terminal it reports
/// progress as lines.
#[test]
fn generate_tickets_leaves_sqlite_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.db");
    let db = format!("sqlite://{}", path.display());
    let tenant = cli(&db, &["create-tenant", "--name", "Acme"]);
    let key = tenant["tenant_key"].as_str().unwrap();
    let helpdesk = cli(&db, &["create-helpdesk", "--tenant-key", key, "--name", "IT"]);
    let hd_id = helpdesk["helpdesk_id"].as_str().unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let before = size(&path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["--database-url", &db, "admin", "generate-tickets"])
        .args([
            "--helpdesk-id",
            hd_id,
            "--count",
            "2500",
            "--progress-every",
            "800",
        ])
        .env("LARKDESK_LOG", "warn")
        .output()
        .expect("run larkdesk admin generate-tickets");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // stderr is a pipe here, so progress comes as lines: one per batch (1000 tickets) that
    // passes a multiple of 800, and one at the end.
    let progress: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("generate-tickets: "))
        .map(|l| l.split(" tickets").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(progress, ["1000/2500", "2000/2500", "2500/2500"]);
    let wal = dir.path().join("bulk.db-wal");
    assert_eq!(size(&wal), 0, "the WAL is empty");
    assert!(
        size(&path) > before + 1_000_000,
        "the tickets are in the database file: {} -> {} bytes",
        before,
        size(&path)
    );
}
