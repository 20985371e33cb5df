//! The test harness: spawn `larkdesk serve` and talk to it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Demo {
    pub tenant_key: String,
    pub app_id: String,
    pub app_secret: String,
    pub helpdesk_id: String,
    pub helpdesk_token: String,
    pub ticket_ids: Vec<String>,
}

pub struct TestServer {
    /// Killed when the server is dropped.
    _child: Child,
    pub base: String,
    pub admin_token: String,
    /// Present when this instance created the demo installation.
    pub demo: Option<Demo>,
    pub db_url: String,
    pub stderr_path: PathBuf,
    pub http: reqwest::Client,
    /// Holds the database and logs; removed when the server is dropped.
    _dir: TempDir,
    /// A PostgreSQL database made for this server; dropped with it.
    _fresh_db: Option<FreshPostgres>,
}

/// A uniquely named PostgreSQL database, created from `LARKDESK_TEST_POSTGRES_URL` (an admin
/// URL) and dropped again when this value is dropped.
pub struct FreshPostgres {
    admin_url: String,
    name: String,
    pub url: String,
}

impl FreshPostgres {
    pub async fn create() -> Self {
        let admin_url = std::env::var("LARKDESK_TEST_POSTGRES_URL")
            .expect("LARKDESK_TEST_BACKEND=postgres needs LARKDESK_TEST_POSTGRES_URL");
        let name = format!("larkdesk_t_{:016x}", rand_u64());
        let pool = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create database");
        pool.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Self { admin_url, name, url }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee: use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&pool)
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn code(&self) -> i64 {
        self.json()["code"].as_i64().expect("code is an integer")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub const ADMIN_TOKEN: &str = "ldadm-test-admin-token";

pub fn helpdesk_header(id: &str, token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{token}"))
}

/// Among a test server's arguments: start it without `--event-allow-private` (every other test
/// server lets events reach 127.0.0.1, where the tests' receivers listen).
pub const STRICT_EVENT_TARGETS: &str = "<strict event targets>";

impl TestServer {
    /// A server on a fresh database, with the demo installation.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_logging(args, "info").await
    }

    /// A server on a fresh database logging at `log_level` (an `EnvFilter` directive).
    pub async fn start_logging(args: &[&str], log_level: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, fresh_db) = match std::env::var("LARKDESK_TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                let fresh = FreshPostgres::create().await;
                (fresh.url.clone(), Some(fresh))
            }
            _ => (
                format!("sqlite://{}", dir.path().join("larkdesk.db").display()),
                None,
            ),
        };
        let mut server = Self::spawn(dir, db_url, args, log_level).await;
        server._fresh_db = fresh_db;
        server
    }

    /// Run one SQL statement against the server's database, behind its back (to damage data).
    pub async fn sql(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.db_url)
            .await
            .expect("connect to the test database");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    }

    /// A second instance on this server's database.
    pub async fn another_instance(&self, args: &[&str]) -> Self {
        Self::spawn_on(&self.db_url, args).await
    }

    /// A server on an existing database.
    pub async fn spawn_on(db_url: &str, args: &[&str]) -> Self {
        Self::spawn(
            tempfile::tempdir().expect("tempdir"),
            db_url.to_owned(),
            args,
            "info",
        )
        .await
    }

    async fn spawn(dir: TempDir, db_url: String, args: &[&str], log_level: &str) -> Self {
        // Test receivers listen on 127.0.0.1: event targets may be private unless a test asks
        // for the production default.
        let strict = args.contains(&STRICT_EVENT_TARGETS);
        let args: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| *a != STRICT_EVENT_TARGETS)
            .collect();
        let allowance: &[&str] = if strict { &[] } else { &["--event-allow-private"] };
        let creds = dir.path().join("credentials.json");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let child = Command::new(env!("CARGO_BIN_EXE_larkdesk"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                &db_url,
                "--admin-token",
                ADMIN_TOKEN,
            ])
            .arg("--credentials-file")
            .arg(&creds)
            .args(allowance)
            .args(&args)
            .env("LARKDESK_LOG", log_level)
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn larkdesk");
        let mut waited = Duration::ZERO;
        let written: Value = loop {
            if let Some(value) = std::fs::read(&creds)
                .ok()
                .and_then(|raw| serde_json::from_slice(&raw).ok())
            {
                break value;
            }
            assert!(
                waited < Duration::from_secs(20),
                "larkdesk did not start: {}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&creds)
                .expect("credentials file")
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "the credentials file holds secrets: owner-only"
            );
        }
        Self {
            _child: child,
            base: written["base_url"].as_str().expect("base_url").to_owned(),
            admin_token: ADMIN_TOKEN.to_owned(),
            demo: written
                .get("demo")
                .map(|d| serde_json::from_value(d.clone()).expect("demo credentials")),
            db_url,
            stderr_path,
            http: reqwest::Client::new(),
            _dir: dir,
            _fresh_db: None,
        }
    }

    /// Kill the server process (SIGKILL: no graceful shutdown), keeping its database.
    pub async fn kill(&mut self) {
        self._child.kill().await.expect("kill larkdesk");
    }

    /// Send SIGTERM and wait (up to `within`) for the process to exit; its exit status, or
    /// `None` if it was still running.
    pub async fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = self._child.id().expect("still running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        tokio::time::timeout(within, self._child.wait())
            .await
            .ok()
            .map(|s| s.expect("wait for larkdesk"))
    }

    pub fn demo(&self) -> &Demo {
        self.demo.as_ref().expect("this instance created the demo")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Response {
        let response = request.send().await.expect("request sent");
        Response {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.send(self.http.post(self.url(path)).body(body)).await
    }

    /// A tenant token for an app, asserting success.
    pub async fn tenant_token(&self, app_id: &str, app_secret: &str) -> String {
        let r = self
            .post_raw(
                "/open-apis/auth/v3/tenant_access_token/internal",
                json!({"app_id": app_id, "app_secret": app_secret}).to_string(),
            )
            .await;
        assert_eq!(r.code(), 0, "{}", r.text);
        r.json()["tenant_access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    pub async fn demo_token(&self) -> String {
        let demo = self.demo();
        self.tenant_token(&demo.app_id, &demo.app_secret).await
    }

    pub fn demo_helpdesk_header(&self) -> String {
        let demo = self.demo();
        helpdesk_header(&demo.helpdesk_id, &demo.helpdesk_token)
    }

    pub async fn get_ticket(&self, ticket_id: &str, token: Option<&str>, helpdesk: Option<&str>) -> Response {
        let mut request = self
            .http
            .get(self.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket_id}")));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(helpdesk) = helpdesk {
            request = request.header("X-Lark-Helpdesk-Authorization", helpdesk);
        }
        self.send(request).await
    }

    /// GET a ticket as the demo app on the demo helpdesk.
    pub async fn demo_get_ticket(&self, ticket_id: &str) -> Response {
        let token = self.demo_token().await;
        self.get_ticket(ticket_id, Some(&token), Some(&self.demo_helpdesk_header()))
            .await
    }

    /// POST to the admin API and return `data`, asserting success.
    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self.admin_raw(path, body).await;
        assert_eq!((r.status, r.code()), (200, 0), "{path}: {}", r.text);
        r.json()["data"].clone()
    }

    pub async fn admin_raw(&self, path: &str, body: Value) -> Response {
        self.admin_request(reqwest::Method::POST, path, body).await
    }

    pub async fn admin_request(&self, method: reqwest::Method, path: &str, body: Value) -> Response {
        self.send(
            self.http
                .request(method, self.url(&format!("/larkdesk/admin/v1{path}")))
                .bearer_auth(&self.admin_token)
                .body(body.to_string()),
        )
        .await
    }

    /// A new tenant with an app (extra fields for `/apps` in `app`) and a helpdesk.
    pub async fn new_tenant(&self, app: Value) -> Installation {
        let tenant = self.admin("/tenants", json!({"name": "other"})).await;
        let tenant_key = tenant["tenant_key"].as_str().unwrap().to_owned();
        let mut app_body = json!({"tenant_key": tenant_key, "name": "app"});
        app_body
            .as_object_mut()
            .unwrap()
            .extend(app.as_object().cloned().unwrap_or_default());
        let app = self.admin("/apps", app_body).await;
        let helpdesk = self
            .admin("/helpdesks", json!({"tenant_key": tenant_key, "name": "hd"}))
            .await;
        Installation {
            app_id: app["app_id"].as_str().unwrap().to_owned(),
            app_secret: app["app_secret"].as_str().unwrap().to_owned(),
            helpdesk_id: helpdesk["helpdesk_id"].as_str().unwrap().to_owned(),
            helpdesk_token: helpdesk["helpdesk_token"].as_str().unwrap().to_owned(),
        }
    }
}

pub struct Installation {
    pub app_id: String,
    pub app_secret: String,
    pub helpdesk_id: String,
    pub helpdesk_token: String,
}

impl Installation {
    pub fn helpdesk_header(&self) -> String {
        helpdesk_header(&self.helpdesk_id, &self.helpdesk_token)
    }
}

/// Assert the Feishu error envelope: code, HTTP status, `error.log_id` equal to `X-Tt-Logid`,
/// and Feishu's troubleshooter link.
#[track_caller]
pub fn assert_feishu_error(r: &Response, status: u16, code: i64) {
    assert_error_envelope(r, status, code);
    let body = r.json();
    let log_id = body["error"]["log_id"].as_str().expect("error.log_id");
    assert!(body["error"]["troubleshooter"].as_str().unwrap().contains(log_id));
}

/// Assert an admin API error: the same envelope, but no `troubleshooter` (Feishu's docs do not
/// describe larkdesk's admin API, so no link points there).
#[track_caller]
pub fn assert_admin_error(r: &Response, status: u16, code: i64) {
    assert_error_envelope(r, status, code);
    let body = r.json();
    assert!(body["error"].get("troubleshooter").is_none(), "{}", r.text);
    assert!(!r.text.contains("open.feishu.cn"), "{}", r.text);
}

#[track_caller]
fn assert_error_envelope(r: &Response, status: u16, code: i64) {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r.json();
    assert_eq!(body["code"], json!(code), "{}", r.text);
    assert!(body["msg"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    let log_id = body["error"]["log_id"].as_str().expect("error.log_id");
    assert_eq!(Some(log_id), r.header("x-tt-logid"));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}
