//! Operating larkdesk: health and readiness, the admin lists, a start that cannot bind, reset.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::admin::cli;
use crate::common::{FreshPostgres, TestServer, assert_admin_error};

fn on_postgres() -> bool {
    std::env::var("LARKDESK_TEST_BACKEND").as_deref() == Ok("postgres")
}

pub(crate) async fn get(server: &TestServer, path: &str) -> crate::common::Response {
    server.send(server.http.get(server.url(path))).await
}

async fn admin_get(server: &TestServer, path: &str) -> Value {
    let r = server
        .admin_request(reqwest::Method::GET, path, Value::Null)
        .await;
    assert_eq!((r.status, r.code()), (200, 0), "{path}: {}", r.text);
    r.json()["data"].clone()
}

#[tokio::test]
async fn readiness_flips_when_the_migrations_table_is_gone() {
    let server = TestServer::start().await;
    let r = get(&server, "/healthz").await;
    assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})), "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    let r = get(&server, "/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok"}})
    );

    server.sql("DROP TABLE _sqlx_migrations").await;
    let r = get(&server, "/readyz").await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json()["status"], "unavailable");
    assert!(
        r.json()["checks"]["database"]
            .as_str()
            .is_some_and(|d| d.starts_with("unavailable")),
        "{}",
        r.text
    );
    // The process is still up.
    assert_eq!(get(&server, "/healthz").await.status, 200);
}

#[tokio::test]
async fn readiness_flips_when_the_postgres_database_is_dropped() {
    if !on_postgres() {
        return;
    }
    let server = TestServer::start().await;
    assert_eq!(get(&server, "/readyz").await.status, 200);
    let admin_url = std::env::var("LARKDESK_TEST_POSTGRES_URL").unwrap();
    let name = server.db_url.rsplit('/').next().unwrap().to_owned();
    let pool = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let started = Instant::now();
    let r = get(&server, "/readyz").await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(
        r.json()["checks"]["database"]
            .as_str()
            .is_some_and(|d| d.starts_with("unavailable")),
        "{}",
        r.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readiness answers promptly"
    );
    assert_eq!(get(&server, "/healthz").await.status, 200);
}

#[tokio::test]
async fn readiness_checks_redis_when_configured() {
    let Ok(redis) = std::env::var("LARKDESK_TEST_REDIS_URL") else {
        return;
    };
    let server = TestServer::start_with(&["--redis-url", &redis]).await;
    let r = get(&server, "/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["checks"]["redis"], "ok");
}

#[tokio::test]
async fn admin_lists_show_ids_and_never_secrets() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let other = server.new_tenant(json!({})).await;

    let r = server
        .admin_request(reqwest::Method::GET, "/apps", Value::Null)
        .await;
    for secret in [&demo.app_secret, &other.app_secret] {
        assert!(!r.text.contains(secret.as_str()), "{}", r.text);
    }
    let apps = r.json()["data"]["apps"].clone();
    let app_ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(app_ids, [demo.app_id.as_str(), other.app_id.as_str()]);
    assert_eq!(apps[0]["tenant_key"], json!(demo.tenant_key));
    assert_eq!(
        apps[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["app_id", "app_type", "name", "scopes", "tenant_key"]
    );

    let r = server
        .admin_request(reqwest::Method::GET, "/helpdesks", Value::Null)
        .await;
    for token in [&demo.helpdesk_token, &other.helpdesk_token] {
        assert!(!r.text.contains(token.as_str()), "{}", r.text);
    }
    let helpdesks: Vec<String> = r.json()["data"]["helpdesks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["helpdesk_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(helpdesks, [demo.helpdesk_id.clone(), other.helpdesk_id.clone()]);

    let tenants = admin_get(&server, "/tenants").await;
    assert_eq!(tenants["tenants"].as_array().unwrap().len(), 2);
    assert_eq!(tenants["tenants"][0]["tenant_key"], json!(demo.tenant_key));

    let users = admin_get(&server, &format!("/users?tenant_key={}", demo.tenant_key)).await;
    let users = users["users"].as_array().unwrap().clone();
    assert!(!users.is_empty());
    assert!(users.iter().any(|u| u["is_agent"] == json!(true)), "{users:?}");
    assert!(users.iter().all(|u| u["tenant_key"] == json!(demo.tenant_key)));

    let tickets = admin_get(&server, "/tickets?limit=1000").await;
    let mut listed: Vec<String> = tickets["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected = demo.ticket_ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(
        admin_get(&server, "/tickets?limit=1").await["tickets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The lists need the admin token.
    let r = server
        .send(server.http.get(server.url("/larkdesk/admin/v1/apps")))
        .await;
    assert_admin_error(&r, 401, 154001);

    // The CLI shows the same.
    let out = cli(&server.db_url, &["list-apps"]);
    assert_eq!(out["apps"], apps);
    assert!(!out.to_string().contains(&demo.app_secret));
    let out = cli(&server.db_url, &["list-helpdesks"]);
    assert_eq!(out["helpdesks"].as_array().unwrap().len(), 2);
    assert!(!out.to_string().contains(&demo.helpdesk_token));
    assert_eq!(
        cli(&server.db_url, &["list-tenants"])["tenants"],
        tenants["tenants"]
    );
    assert_eq!(
        cli(&server.db_url, &["list-tickets", "--limit", "1000"])["tickets"]
            .as_array()
            .unwrap()
            .len(),
        demo.ticket_ids.len()
    );
    assert!(
        !cli(&server.db_url, &["list-users"])["users"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A fresh database URL of the backend under test, and what keeps it alive.
async fn fresh_database(dir: &tempfile::TempDir) -> (String, Option<FreshPostgres>) {
    if on_postgres() {
        let fresh = FreshPostgres::create().await;
        (fresh.url.clone(), Some(fresh))
    } else {
        (
            format!("sqlite://{}", dir.path().join("larkdesk.db").display()),
            None,
        )
    }
}

#[tokio::test]
async fn a_start_that_cannot_bind_creates_nothing_and_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _fresh) = fresh_database(&dir).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["--database-url", &db_url, "serve", "--bind", &addr])
        .env("LARKDESK_LOG", "warn")
        .env_remove("LARKDESK_ADMIN_TOKEN")
        .output()
        .await
        .expect("run larkdesk serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no credentials printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(cli(&db_url, &["list-tenants"]), json!({"tenants": []}));
    // No admin token either: the next start generates and shows one.
    let rows = cli(&db_url, &["list-apps"]);
    assert_eq!(rows, json!({"apps": []}));
    drop(taken);
}

#[tokio::test]
async fn a_database_that_cannot_open_is_named() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args([
            "--database-url",
            "sqlite:///nonexistent-dir/larkdesk.db",
            "admin",
            "list-tenants",
        ])
        .env("LARKDESK_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the database sqlite:///nonexistent-dir/larkdesk.db"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bind_takes_a_host_name_and_json_logs_have_no_colour() {
    let server = TestServer::start_with(&["--log-format", "json"]).await;
    // TestServer binds 127.0.0.1:0; a second instance on the same database binds localhost:0.
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["--database-url", &server.db_url, "serve", "--bind", "localhost:0"])
        .arg("--credentials-file")
        .arg(&creds)
        .env("LARKDESK_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let base = loop {
        if let Some(v) = std::fs::read(&creds)
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        {
            break v["base_url"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "localhost:0 did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();

    let stderr = server.stderr();
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI escapes when stderr is a file: {stderr}"
    );
    let first = stderr.lines().find(|l| !l.trim().is_empty()).expect("a log line");
    let line: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("not JSON ({e}): {first}"));
    assert!(line["level"].is_string() && line["fields"].is_object(), "{first}");
}

#[tokio::test]
async fn reset_empties_or_restores_the_demo_quickly() {
    let server = TestServer::start().await;
    let old = server.demo().clone();
    let other = server.new_tenant(json!({})).await;
    let token = server.demo_token().await;
    // A change to a demo ticket that a reset must undo.
    let ticket = &old.ticket_ids[0];
    let before = server.demo_get_ticket(ticket).await.json();
    let r = server
        .send(
            server
                .http
                .put(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                .body(json!({"status": 50}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);

    let started = Instant::now();
    let data = server.admin("/reset", json!({"demo": true})).await;
    let took = started.elapsed();
    eprintln!("reset to the demo took {took:?}");
    assert!(took < Duration::from_secs(5), "reset took {took:?}");

    let demo = &data["demo"];
    let new_app = demo["app_id"].as_str().unwrap();
    let new_secret = demo["app_secret"].as_str().unwrap();
    assert_ne!(new_app, old.app_id);
    // The old credentials are gone, the new ones work, and the demo tickets are fresh.
    for (app, secret) in [(&old.app_id, &old.app_secret), (&other.app_id, &other.app_secret)] {
        let r = server
            .post_raw(
                "/open-apis/auth/v3/tenant_access_token/internal",
                json!({"app_id": app, "app_secret": secret}).to_string(),
            )
            .await;
        assert_ne!(r.code(), 0, "{}", r.text);
    }
    let token = server.tenant_token(new_app, new_secret).await;
    let helpdesk = crate::common::helpdesk_header(
        demo["helpdesk_id"].as_str().unwrap(),
        demo["helpdesk_token"].as_str().unwrap(),
    );
    let new_ticket = demo["ticket_ids"][0].as_str().unwrap();
    let r = server.get_ticket(new_ticket, Some(&token), Some(&helpdesk)).await;
    assert_eq!(r.code(), 0, "{}", r.text);
    assert_eq!(
        r.json()["data"]["ticket"]["status"],
        before["data"]["ticket"]["status"]
    );
    assert_eq!(
        admin_get(&server, "/tenants").await["tenants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The journal starts anew (only the reset's own successors are in it).
    let journal = admin_get(&server, "/journal").await;
    assert!(
        journal["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["path"] != "/open-apis/helpdesk/v1/tickets/".to_owned() + ticket),
        "{journal}"
    );

    // To empty: nothing left but the admin token, which still works.
    let data = server.admin("/reset", json!({})).await;
    assert_eq!(data, json!({"demo": null}));
    for list in ["tenants", "apps", "helpdesks", "users", "tickets"] {
        assert_eq!(
            admin_get(&server, &format!("/{list}")).await[list],
            json!([]),
            "{list}"
        );
    }
    let r = server.get_ticket(new_ticket, Some(&token), Some(&helpdesk)).await;
    assert_ne!(r.code(), 0, "{}", r.text);
    let r = server.admin_raw("/reset", json!({"demo": "yes"})).await;
    assert_admin_error(&r, 400, 154000);

    // `larkdesk admin reset-demo` does the same from the command line.
    let out = cli(&server.db_url, &["reset-demo"]);
    let app = out["demo"]["app_id"].as_str().unwrap();
    let secret = out["demo"]["app_secret"].as_str().unwrap();
    server.tenant_token(app, secret).await;
}

/// The journal entry of the request whose response carried `log_id`.
async fn journal_entry(server: &TestServer, log_id: &str) -> Value {
    let data = admin_get(server, &format!("/journal?log_id={log_id}")).await;
    let entries = data["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log_id}: {data}");
    entries[0].clone()
}

fn header_of<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .and_then(|pair| pair[1].as_str())
}

#[tokio::test]
async fn the_journal_redacts_every_secret_and_finds_requests_by_log_id() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();

    // A token request: its body holds the app secret.
    let r = server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    let token = r.json()["tenant_access_token"].as_str().unwrap().to_owned();
    let token_log = r.header("x-tt-logid").unwrap().to_owned();
    // A refused one files under no app.
    let r = server
        .post_raw(
            "/open-apis/auth/v3/app_access_token/internal",
            json!({"app_id": demo.app_id, "app_secret": "wrong-secret-value"}).to_string(),
        )
        .await;
    let refused_log = r.header("x-tt-logid").unwrap().to_owned();
    // An API call: a bearer token and the helpdesk header.
    let helpdesk = server.demo_helpdesk_header();
    let r = server
        .get_ticket(&demo.ticket_ids[0], Some(&token), Some(&helpdesk))
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let get_log = r.header("x-tt-logid").unwrap().to_owned();
    // An admin call: the admin token.
    let r = server.admin_raw("/tenants", json!({"name": "journaled"})).await;
    let admin_log = r.header("x-tt-logid").unwrap().to_owned();

    let all = server
        .admin_request(reqwest::Method::GET, "/journal", Value::Null)
        .await;
    assert_eq!(all.json()["data"]["enabled"], json!(true), "{}", all.text);
    for secret in [
        demo.app_secret.as_str(),
        token.as_str(),
        demo.helpdesk_token.as_str(),
        helpdesk.as_str(),
        server.admin_token.as_str(),
        "wrong-secret-value",
    ] {
        assert!(!all.text.contains(secret), "{secret} leaked: {}", all.text);
    }

    let entry = journal_entry(&server, &token_log).await;
    assert_eq!(entry["app_id"], json!(demo.app_id));
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], "/open-apis/auth/v3/tenant_access_token/internal");
    assert_eq!(
        (entry["status"].clone(), entry["code"].clone()),
        (json!(200), json!(0))
    );
    let body: Value = serde_json::from_str(entry["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"app_id": demo.app_id, "app_secret": "<redacted>"}));

    let entry = journal_entry(&server, &refused_log).await;
    assert_eq!(entry["app_id"], Value::Null);
    assert_ne!(entry["code"], json!(0));

    let entry = journal_entry(&server, &get_log).await;
    assert_eq!(entry["app_id"], json!(demo.app_id));
    assert_eq!(entry["log_id"], json!(get_log));
    assert_eq!(header_of(&entry, "authorization"), Some("Bearer <redacted>"));
    assert_eq!(
        header_of(&entry, "x-lark-helpdesk-authorization"),
        Some("<redacted>")
    );
    assert_eq!(entry["body"], Value::Null);
    assert!(entry["latency_ms"].as_f64().unwrap() >= 0.0);

    let entry = journal_entry(&server, &admin_log).await;
    assert_eq!(entry["app_id"], Value::Null);
    assert_eq!(header_of(&entry, "authorization"), Some("Bearer <redacted>"));

    // Per app, newest first; the CLI asks the same.
    let mine = admin_get(&server, &format!("/journal?app_id={}", demo.app_id)).await;
    let logs: Vec<&str> = mine["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["log_id"].as_str().unwrap())
        .collect();
    assert_eq!(logs, [get_log.as_str(), token_log.as_str()]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["admin", "journal", "--server", &server.base, "--log-id", &get_log])
        .env("LARKDESK_ADMIN_TOKEN", &server.admin_token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["entries"][0]["log_id"], json!(get_log));

    // Cleared per app, then all.
    let r = server
        .admin_request(
            reqwest::Method::DELETE,
            &format!("/journal?app_id={}", demo.app_id),
            Value::Null,
        )
        .await;
    assert_eq!(r.json()["data"]["cleared"], json!(2), "{}", r.text);
    let mine = admin_get(&server, &format!("/journal?app_id={}", demo.app_id)).await;
    assert_eq!(mine["entries"], json!([]));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["admin", "journal", "--clear", "--server", &server.base])
        .args(["--admin-token", &server.admin_token])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(admin_get(&server, "/journal").await["entries"], json!([]));
}

#[tokio::test]
async fn the_journal_is_off_without_the_demo_or_when_set_to_zero() {
    for args in [&["--no-demo"][..], &["--journal", "0"][..]] {
        let server = TestServer::start_with(args).await;
        server.admin("/tenants", json!({"name": "x"})).await;
        let data = admin_get(&server, "/journal").await;
        assert_eq!(data["enabled"], json!(false), "{args:?}");
        assert_eq!(data["entries"], json!([]), "{args:?}");
    }
    let server = TestServer::start_with(&["--no-demo", "--journal", "1"]).await;
    server.admin("/tenants", json!({"name": "x"})).await;
    server.admin("/tenants", json!({"name": "y"})).await;
    let data = admin_get(&server, "/journal").await;
    assert_eq!(data["entries"].as_array().unwrap().len(), 1, "{data}");
    assert!(
        data["entries"][0]["body"].as_str().unwrap().contains("\"y\""),
        "{data}"
    );
}

#[test]
fn every_serve_flag_is_also_an_environment_variable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    // Option blocks: a line starting (after indentation) with `-`, up to the next such line.
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        if line.trim_start().starts_with('-') {
            blocks.push(line.to_owned());
        } else if let Some(block) = blocks.last_mut() {
            block.push_str(line);
        }
    }
    let flags: Vec<&String> = blocks
        .iter()
        .filter(|b| !b.contains("--help") && !b.contains("--version"))
        .collect();
    assert!(flags.len() >= 18, "{help}");
    for block in flags {
        assert!(
            block.contains("[env: LARKDESK_"),
            "no environment variable: {block}"
        );
    }
}

#[test]
fn completions_are_printed_for_bash() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("_larkdesk()") && script.contains("reset-demo"),
        "{script}"
    );
}

#[tokio::test]
async fn sqlite_memory_is_an_in_memory_installation() {
    let server = TestServer::spawn_on("sqlite::memory:", &[]).await;
    let ticket = server.demo().ticket_ids[0].clone();
    assert_eq!(server.demo_get_ticket(&ticket).await.code(), 0);
    let token = server.demo_token().await;
    let r = server
        .send(
            server
                .http
                .put(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                .body(json!({"status": 50}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    assert_eq!(
        server.demo_get_ticket(&ticket).await.json()["data"]["ticket"]["status"],
        json!(50)
    );
    assert_eq!(get(&server, "/readyz").await.status, 200);
}

/// The value of one sample line of a Prometheus text body (0 when the series has no sample yet).
pub(crate) fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_by_endpoint_status_and_feishu_code() {
    let server = TestServer::start_with(&["--rate-limit", "list_tickets=1"]).await;
    let before = get(&server, "/metrics").await;
    assert_eq!(before.status, 200);
    assert_eq!(
        before.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(before.text.ends_with("# EOF\n"), "{}", before.text);
    let ticket = server.demo().ticket_ids[0].clone();
    let ok = r#"larkdesk_http_requests_total{endpoint="get_ticket",status="200",code="0"}"#;
    let ok_before = sample(&before.text, ok);
    // Three times: a ticket is kept in the rendered-ticket cache from its second request, so
    // the third is served from it (nothing wrote in between; a token request is a POST, which
    // invalidates the cache).
    let token = server.demo_token().await;
    let desk = server.demo_helpdesk_header();
    for _ in 0..3 {
        let r = server.get_ticket(&ticket, Some(&token), Some(&desk)).await;
        assert_eq!(r.code(), 0, "{}", r.text);
    }
    assert_eq!(get(&server, "/no/such/path").await.status, 404);
    let refused = server.get_ticket(&ticket, Some("t-bogus"), None).await;
    let refused_code = refused.code();
    assert_ne!(refused_code, 0);
    // The second list within a second is refused by the limiter.
    let mut lists = Vec::new();
    for _ in 0..2 {
        let list = server
            .http
            .get(server.url("/open-apis/helpdesk/v1/tickets"))
            .bearer_auth(&token)
            .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header());
        lists.push(server.send(list).await);
    }
    assert_eq!(lists[0].code(), 0, "{}", lists[0].text);
    assert_eq!((lists[1].status, lists[1].code()), (429, 99991400));

    let after = get(&server, "/metrics").await.text;
    assert_eq!(sample(&after, ok), ok_before + 3.0, "{after}");
    let bad_token = format!(
        r#"larkdesk_http_requests_total{{endpoint="get_ticket",status="{}",code="{refused_code}"}}"#,
        refused.status
    );
    assert_eq!(sample(&after, &bad_token), 1.0, "{after}");
    assert_eq!(
        sample(
            &after,
            r#"larkdesk_http_requests_total{endpoint="none",status="404",code="1254040"}"#
        ) + sample(
            &after,
            r#"larkdesk_http_requests_total{endpoint="none",status="404",code="0"}"#
        ),
        1.0,
        "an unknown path counts under endpoint none: {after}"
    );
    assert_eq!(
        sample(&after, r#"larkdesk_rate_limited_total{endpoint="list_tickets"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            r#"larkdesk_http_requests_total{endpoint="list_tickets",status="429",code="99991400"}"#
        ),
        1.0,
        "{after}"
    );
    // A latency histogram per endpoint, its buckets cumulative up to the count.
    let count = r#"larkdesk_http_request_duration_seconds_count{endpoint="get_ticket"}"#;
    assert!(sample(&after, count) >= 3.0, "{after}");
    assert_eq!(
        sample(
            &after,
            r#"larkdesk_http_request_duration_seconds_bucket{le="+Inf",endpoint="get_ticket"}"#
        ),
        sample(&after, count),
        "{after}"
    );
    // The cache: the first GETs rendered (or an earlier request kept the ticket), the third hit.
    let hits = r#"larkdesk_ticket_cache_requests_total{cache="ticket",result="hit"}"#;
    assert!(
        sample(&after, hits) >= sample(&before.text, hits) + 1.0,
        "{after}"
    );
    // Gauges read at scrape time.
    assert!(
        after.contains(r#"larkdesk_db_connections{pool="reads",state="idle"}"#),
        "{after}"
    );
    assert!(after.contains("larkdesk_outbox_pending 0\n"), "{after}");
    assert!(sample(&after, "larkdesk_journal_entries") >= 3.0, "{after}");
}

#[tokio::test]
async fn no_metrics_serves_no_metrics_endpoint() {
    let server = TestServer::start_with(&["--no-metrics"]).await;
    assert_eq!(
        server.demo_get_ticket(&server.demo().ticket_ids[0]).await.code(),
        0
    );
    assert_eq!(get(&server, "/metrics").await.status, 404);
}

#[tokio::test]
async fn reset_knows_every_table() {
    let server = TestServer::start_with(&["--no-demo"]).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.db_url).await.unwrap();
    let list = if on_postgres() {
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()"
    } else {
        // Not FTS5's table and its shadow tables, which triggers keep in step.
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND name NOT LIKE 'faq_fts%'"
    };
    let tables: Vec<String> = sqlx::query_scalar(list).fetch_all(&pool).await.unwrap();
    pool.close().await;
    let kept = ["server_secrets", "_sqlx_migrations"];
    let missing: Vec<&String> = tables
        .iter()
        .filter(|t| !kept.contains(&t.as_str()) && !larkdesk_store::RESET_ORDER.contains(&t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "tables a reset would leave (add them to RESET_ORDER): {missing:?}"
    );
    assert!(tables.len() > 20, "{tables:?}");
}

#[tokio::test]
async fn shutdown_waits_for_open_requests_only_for_the_grace() {
    use tokio::io::AsyncWriteExt;
    let mut server = TestServer::start_with(&["--shutdown-grace-secs", "1"]).await;
    // A request still uploading its body: graceful shutdown waits for it, up to the grace.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /open-apis/auth/v3/tenant_access_token/internal HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"app_id\"",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let status = server.terminate(Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?} after {took:?}"
    );
    assert!(
        took >= Duration::from_millis(900),
        "did not wait for the open request: {took:?}"
    );
    assert!(
        server
            .stderr()
            .contains("connections still open after the shutdown grace"),
        "{}",
        server.stderr()
    );
    drop(stream);
}

#[tokio::test]
async fn metrics_count_the_sqlite_writers_group_commits() {
    let server = TestServer::start().await;
    let commits = "larkdesk_sqlite_group_commits_total";
    let changes = "larkdesk_sqlite_committed_changes_total";
    let before = get(&server, "/metrics").await.text;
    if on_postgres() {
        assert!(
            !before.contains(commits),
            "no SQLite writer on PostgreSQL: {before}"
        );
        return;
    }
    assert!(
        before.contains("# TYPE larkdesk_sqlite_log_restart_hold_seconds counter"),
        "{before}"
    );
    let token = server.demo_token().await;
    let ticket = server.demo().ticket_ids[0].clone();
    for i in 0..3 {
        let post = server
            .http
            .post(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}/messages")))
            .bearer_auth(&token)
            .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
            .json(&json!({"msg_type": "text", "content": {"text": format!("note {i}")}}));
        let r = server.send(post).await;
        assert_eq!(r.code(), 0, "{}", r.text);
    }
    let after = get(&server, "/metrics").await.text;
    // One at a time, each message is a commit of its own (and a token request may add one).
    assert!(
        sample(&after, commits) >= sample(&before, commits) + 3.0,
        "{after}"
    );
    assert!(
        sample(&after, changes) >= sample(&before, changes) + 3.0,
        "{after}"
    );
    assert!(sample(&after, changes) >= sample(&after, commits), "{after}");
}
