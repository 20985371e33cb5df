//! Snapshot and restore of a whole installation: `GET /snapshot`, `POST /restore` and the
//! `larkdesk admin snapshot|restore FILE` commands (both backends).

use serde_json::{Value, json};

use crate::admin::cli;
use crate::common::{TestServer, assert_admin_error, assert_feishu_error, helpdesk_header};

async fn admin_get_raw(server: &TestServer, path: &str) -> Value {
    let r = server
        .admin_request(reqwest::Method::GET, path, Value::Null)
        .await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()
}

/// What a test can observe of the installation: the admin lists, and a demo ticket and its
/// messages as the Feishu API answers them (with a token issued for the occasion).
async fn observe(server: &TestServer, ticket: &str) -> Value {
    let mut seen = json!({});
    for list in ["tenants", "apps", "helpdesks", "users", "tickets"] {
        seen[list] = admin_get_raw(server, &format!("/{list}")).await["data"][list].clone();
    }
    let demo = server.demo();
    let token = server.tenant_token(&demo.app_id, &demo.app_secret).await;
    let helpdesk = helpdesk_header(&demo.helpdesk_id, &demo.helpdesk_token);
    let r = server.get_ticket(ticket, Some(&token), Some(&helpdesk)).await;
    assert_eq!(r.code(), 0, "{}", r.text);
    seen["ticket"] = r.json()["data"].clone();
    let r = server
        .send(
            server
                .http
                .get(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}/messages")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &helpdesk),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    seen["messages"] = r.json()["data"].clone();
    seen
}

/// The demo bot posts `text` to `ticket`.
async fn post(server: &TestServer, ticket: &str, text: &str) {
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let r = server
        .send(
            server
                .http
                .post(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}/messages")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &helpdesk)
                .body(json!({"msg_type": "text", "content": json!({"text": text}).to_string()}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
}

/// A new tenant and app, a message on `ticket`, then a status change.
async fn change(server: &TestServer, ticket: &str) -> crate::common::Installation {
    let other = server.new_tenant(json!({})).await;
    post(server, ticket, "after the snapshot").await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let r = server
        .send(
            server
                .http
                .put(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &helpdesk)
                .body(json!({"status": 50}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    other
}

#[tokio::test]
async fn restore_brings_back_exactly_what_was_snapshotted() {
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let before = observe(&server, &ticket).await;
    let snapshot = admin_get_raw(&server, "/snapshot").await;
    assert_eq!(snapshot["format"], "larkdesk-snapshot");
    assert_eq!(snapshot["version"], 1);
    assert_eq!(
        snapshot["tables"].as_object().unwrap().len(),
        larkdesk_store::RESET_ORDER.len()
    );

    let other = change(&server, &ticket).await;
    let other_token = server.tenant_token(&other.app_id, &other.app_secret).await;
    let changed = observe(&server, &ticket).await;
    assert_ne!(changed, before);

    // Refused, and nothing changes: another format, another version, an unknown table or
    // column, a value of the wrong type, rows the schema refuses, not JSON at all.
    let mut bad = Vec::new();
    for (pointer, value) in [
        ("/format", json!("something-else")),
        ("/version", json!(2)),
        ("/tables/no_such_table", json!([])),
        ("/tables/tenants/0/no_such_column", json!(1)),
        ("/tables/tenants/0/id", json!("one")),
        ("/tables/apps/0/tenant_id", json!(987_654)),
        ("/tables", json!([])),
    ] {
        let mut doc = snapshot.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut doc
        } else {
            doc.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        bad.push((pointer.to_owned(), doc));
    }
    for (what, doc) in bad {
        let r = server.admin_raw("/restore", doc).await;
        assert_admin_error(&r, 400, 154000);
        assert_eq!(observe(&server, &ticket).await, changed, "after {what}");
    }
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/restore"))
                .bearer_auth(&server.admin_token)
                .body("not json"),
        )
        .await;
    assert_admin_error(&r, 400, 154000);

    // The restore: every list, the ticket and its messages as they were; the app created
    // since is gone (its cached credentials too), and a second snapshot is the first.
    server.admin("/restore", snapshot.clone()).await;
    assert_eq!(observe(&server, &ticket).await, before);
    let r = server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": other.app_id, "app_secret": other.app_secret}).to_string(),
        )
        .await;
    assert_ne!(r.code(), 0, "{}", r.text);
    assert_eq!(admin_get_raw(&server, "/snapshot").await, snapshot);

    // New rows after a restore get fresh ids (PostgreSQL's identity columns were moved on).
    let again = change(&server, &ticket).await;
    server.tenant_token(&again.app_id, &again.app_secret).await;
    // PostgreSQL never hands out a removed app's row id again, so a token of the app the
    // restore removed does not come to name the new one. (SQLite's `apps` ids are max + 1:
    // there, as after a reset, it would; see README.)
    if std::env::var("LARKDESK_TEST_BACKEND").as_deref() == Ok("postgres") {
        let helpdesk = helpdesk_header(&again.helpdesk_id, &again.helpdesk_token);
        let r = server
            .get_ticket(&ticket, Some(&other_token), Some(&helpdesk))
            .await;
        assert_feishu_error(&r, 400, 99991663);
    }

    // The same from the command line, through a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let file = file.to_str().unwrap();
    server.admin("/restore", snapshot.clone()).await;
    let out = cli(&server.db_url, &["snapshot", file]);
    assert_eq!(out["snapshot"], file);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(written, snapshot);
    change(&server, &ticket).await;
    cli(&server.db_url, &["restore", file]);
    assert_eq!(admin_get_raw(&server, "/snapshot").await, snapshot);
}

/// A PostgreSQL snapshot restores on SQLite, and SQLite's snapshot of it restores on PostgreSQL
/// to the very same installation (flags travel as booleans or 0/1, JSONB as text).
/// Snapshots made before renders moved into ticket rows hold a `ticket_renders` table and
/// tickets without render columns: they restore, and the tickets read as they were (from their
/// projection, the render being derived data).
#[tokio::test]
async fn a_snapshot_from_before_renders_moved_into_ticket_rows_restores() {
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let before = observe(&server, &ticket).await;
    let mut snapshot = admin_get_raw(&server, "/snapshot").await;
    let mut renders = Vec::new();
    for row in snapshot["tables"]["tickets"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        let body = row.remove("render").unwrap();
        let version = row.remove("render_directory_version").unwrap();
        assert!(body.is_string(), "every demo ticket has a render: {body}");
        renders.push(
            json!({"ticket_id": row["ticket_id"], "helpdesk_id": row["helpdesk_id"],
                            "directory_version": version, "body": "{\"stale\": true}"}),
        );
    }
    snapshot["tables"]["ticket_renders"] = json!(renders);
    change(&server, &ticket).await;
    server.admin("/restore", snapshot).await;
    assert_eq!(observe(&server, &ticket).await, before);
}

/// Snapshots made before messages took their events' row ids (migration 0015) hold message rows
/// numbered on their own: they restore under their events' ids, and read as they were.
#[tokio::test]
async fn a_snapshot_from_before_messages_took_their_events_row_ids_restores() {
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    for text in ["one", "two", "three"] {
        post(&server, &ticket, text).await;
    }
    let before = observe(&server, &ticket).await;
    assert_eq!(before["messages"]["messages"].as_array().map(Vec::len), Some(3));
    let snapshot = admin_get_raw(&server, "/snapshot").await;
    let mut old = snapshot.clone();
    let messages = old["tables"]["ticket_messages"].as_array_mut().unwrap();
    assert!(messages.len() > 2, "the demo tickets have messages");
    let mut renumbered = 0;
    for (row, id) in messages.iter_mut().zip(1..) {
        renumbered += usize::from(row["id"] != json!(id));
        row["id"] = json!(id);
    }
    assert!(
        renumbered > 0,
        "the old numbering differs from the events' row ids"
    );
    change(&server, &ticket).await;
    let changed = observe(&server, &ticket).await;
    // A message whose ticket's log has no message event with its id is refused.
    let mut orphan = old.clone();
    orphan["tables"]["ticket_messages"][0]["message_id"] = json!("om_no_such_event");
    let r = server.admin_raw("/restore", orphan).await;
    assert_admin_error(&r, 400, 154000);
    assert_eq!(observe(&server, &ticket).await, changed);
    server.admin("/restore", old).await;
    assert_eq!(observe(&server, &ticket).await, before);
    assert_eq!(admin_get_raw(&server, "/snapshot").await, snapshot);
}

/// Snapshots made before tickets were indexed by their update's hour (migration 0016) have no
/// `updated_hour`, and one edited by hand may hold a wrong one: either restores with the hour
/// of each ticket's `updated_at`, as the store writes it.
#[tokio::test]
async fn a_snapshot_restores_with_each_ticket_s_update_hour_from_its_update_time() {
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    post(&server, &ticket, "one").await;
    let snapshot = admin_get_raw(&server, "/snapshot").await;
    let mut old = snapshot.clone();
    let rows = old["tables"]["tickets"].as_array_mut().unwrap();
    assert!(
        rows.iter().any(|r| r["updated_hour"].is_i64()),
        "a posted-to ticket has an hour: {rows:?}"
    );
    for (i, row) in rows.iter_mut().enumerate() {
        let row = row.as_object_mut().unwrap();
        match i % 2 {
            0 => drop(row.remove("updated_hour")),
            _ => drop(row.insert("updated_hour".into(), json!(-7))),
        }
    }
    change(&server, &ticket).await;
    server.admin("/restore", old).await;
    assert_eq!(admin_get_raw(&server, "/snapshot").await, snapshot);
}

#[tokio::test]
async fn a_snapshot_moves_between_backends() {
    if std::env::var("LARKDESK_TEST_BACKEND").as_deref() != Ok("postgres") {
        return; // Needs both backends: runs with LARKDESK_TEST_BACKEND=postgres.
    }
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    change(&server, &ticket).await;
    let before = observe(&server, &ticket).await;
    let snapshot = admin_get_raw(&server, "/snapshot").await;

    let dir = tempfile::tempdir().unwrap();
    let from_pg = dir.path().join("pg.json");
    let from_sqlite = dir.path().join("sqlite.json");
    std::fs::write(&from_pg, snapshot.to_string()).unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("moved.db").display());
    cli(&sqlite, &["restore", from_pg.to_str().unwrap()]);
    for list in ["apps", "helpdesks", "users"] {
        assert_eq!(
            cli(&sqlite, &[&format!("list-{list}")])[list],
            before[list],
            "{list} on SQLite"
        );
    }
    cli(&sqlite, &["snapshot", from_sqlite.to_str().unwrap()]);
    let moved: Value = serde_json::from_str(&std::fs::read_to_string(&from_sqlite).unwrap()).unwrap();

    server.admin("/reset", json!({})).await;
    server.admin("/restore", moved).await;
    assert_eq!(admin_get_raw(&server, "/snapshot").await, snapshot);
    assert_eq!(observe(&server, &ticket).await, before);
}
