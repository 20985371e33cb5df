//! The request journal (WireMock's request log): the last requests of each app, kept in this
//! instance's memory, with every secret redacted, so "what did my SDK send?" has an answer.
//!
//! Off (capacity 0) it costs a request one branch. On, `frame_request` keeps each request's
//! method, path, query, headers and body (up to [`BODY_CAP`]), and the response's status,
//! Feishu `code` and log id. Redacted: every header that carries a credential (`Authorization`,
//! `X-Lark-Helpdesk-Authorization`, cookies, anything named like a token or secret), query
//! parameters named like one, and in JSON bodies every value under a key named like one
//! (`app_secret`, `helpdesk_token`, `encrypt_key`, …). A body that is not JSON is kept only when
//! nothing in it looks like a credential.
//!
//! Requests are filed under the app whose token they carry, a token request under the app it
//! named when the app and secret were right; everything else (admin calls, refused
//! credentials) under no app.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

/// Most bytes of a request body kept.
pub const BODY_CAP: usize = 4096;

/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

/// One request as journaled.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = JournalEntry)]
pub struct Entry {
    /// Increases by one per journaled request of this instance.
    pub seq: u64,
    pub log_id: String,
    /// When the request arrived, in ms since the epoch.
    pub time_ms: i64,
    pub app_id: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// In arrival order, names lower-case, credentials redacted.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_truncated: bool,
    pub status: u16,
    /// The Feishu `code` of a JSON response.
    pub code: Option<i64>,
    pub latency_ms: f64,
}

/// The journal: per app (and one list for requests of no app), the last `capacity` entries.
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    by_app: HashMap<Option<String>, VecDeque<Entry>>,
}

impl Journal {
    /// A journal keeping `capacity` requests per app; 0 keeps none (off).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many requests are kept.
    pub fn len(&self) -> usize {
        if !self.enabled() {
            return 0;
        }
        self.lock().by_app.values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole entries behind: keep using them.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// File `entry` (its `seq` is assigned here), dropping its app's oldest beyond capacity.
    pub fn record(&self, mut entry: Entry) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        let list = inner.by_app.entry(entry.app_id.clone()).or_default();
        if list.len() >= self.capacity {
            list.pop_front();
        }
        list.push_back(entry);
    }

    /// Entries newest first: of one app (`Some("")` is requests of no app) or all, only the one
    /// with `log_id` when given, at most `limit`.
    pub fn query(&self, app_id: Option<&str>, log_id: Option<&str>, limit: usize) -> Vec<Entry> {
        let inner = self.lock();
        let mut out: Vec<&Entry> = inner
            .by_app
            .iter()
            .filter(|(app, _)| app_id.is_none_or(|want| app.as_deref().unwrap_or("") == want))
            .flat_map(|(_, list)| list.iter())
            .filter(|e| log_id.is_none_or(|want| e.log_id == want))
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out.into_iter().take(limit).cloned().collect()
    }

    /// Forget the entries of one app (`Some("")`: of no app) or of all; returns how many.
    pub fn clear(&self, app_id: Option<&str>) -> usize {
        let mut inner = self.lock();
        match app_id {
            None => {
                let n = inner.by_app.values().map(VecDeque::len).sum();
                inner.by_app.clear();
                n
            }
            Some(want) => {
                let key = (!want.is_empty()).then(|| want.to_owned());
                inner.by_app.remove(&key).map_or(0, |l| l.len())
            }
        }
    }
}

/// Whether a header, query parameter or JSON key of this name carries a credential.
fn names_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // A page token is a list cursor, not a credential.
    !name.contains("page_token")
        && [
            "authorization",
            "token",
            "secret",
            "cookie",
            "password",
            "encrypt_key",
            "api_key",
            "apikey",
            "app_ticket",
        ]
        .iter()
        .any(|word| name.contains(word))
}

/// Whether text (a body that is not JSON) may hold a credential.
fn mentions_a_secret(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["token", "secret", "password", "encrypt_key", "authorization"]
        .iter()
        .any(|word| text.contains(word))
}

/// Headers with credentials redacted (an `Authorization` keeps its scheme: `Bearer <redacted>`).
pub fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_owned();
            let value = if names_a_secret(&name) {
                match value.to_str().ok().and_then(|v| v.split_once(' ')) {
                    Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => {
                        format!("{scheme} {REDACTED}")
                    }
                    _ => REDACTED.to_owned(),
                }
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// A query string with the values of parameters named like a credential redacted.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if names_a_secret(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redact every value under a key named like a credential, at any depth.
fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if names_a_secret(key) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// A request body as journaled: JSON with credentials redacted (then cut to [`BODY_CAP`]), other
/// text kept only when nothing in it looks like a credential. Returns the text and whether it
/// was cut.
pub fn redact_body(body: &[u8]) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut json) => {
            redact_json(&mut json);
            json.to_string()
        }
        Err(_) => {
            let raw = String::from_utf8_lossy(body);
            if mentions_a_secret(&raw) {
                return (
                    Some(format!(
                        "<{} bytes, not JSON, withheld: may hold a credential>",
                        body.len()
                    )),
                    false,
                );
            }
            raw.into_owned()
        }
    };
    if text.len() <= BODY_CAP {
        return (Some(text), false);
    }
    let mut cut = BODY_CAP;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (Some(text[..cut].to_owned()), true)
}

/// The `app_id` a token request names (`/open-apis/auth/v3/*`), for filing it.
pub fn token_request_app_id(path: &str, body: &[u8]) -> Option<String> {
    if !path.starts_with("/open-apis/auth/v3/") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Named {
        app_id: String,
    }
    serde_json::from_slice::<Named>(body).ok().map(|n| n.app_id)
}

/// The Feishu `code` of a JSON response body.
pub fn response_code(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Coded {
        code: i64,
    }
    serde_json::from_slice::<Coded>(body).ok().map(|c| c.code)
}

/// Paths never journaled: probes, and the journal itself.
pub fn skipped(path: &str) -> bool {
    path == crate::health::HEALTHZ
        || path == crate::health::READYZ
        || path == crate::openapi::PATH
        || path.starts_with("/larkdesk/admin/v1/journal")
        // The console is people's pages, not the API (and its sign-in form holds the admin token).
        || path == crate::console::PREFIX
        || path.starts_with("/console/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer t-abc".parse().unwrap());
        headers.insert(
            "x-lark-helpdesk-authorization",
            "MTIzOnNlY3JldA==".parse().unwrap(),
        );
        headers.insert("cookie", "session=1".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let kept: HashMap<_, _> = redact_headers(&headers).into_iter().collect();
        assert_eq!(kept["authorization"], "Bearer <redacted>");
        assert_eq!(kept["x-lark-helpdesk-authorization"], REDACTED);
        assert_eq!(kept["cookie"], REDACTED);
        assert_eq!(kept["content-type"], "application/json");
    }

    #[test]
    fn json_secrets_are_redacted_at_any_depth() {
        let (body, cut) = redact_body(
            br#"{"app_id":"cli_1","app_secret":"s3","x":[{"helpdesk_token":"h"}],"encrypt_key":"k","app_ticket":"a","n":1}"#,
        );
        assert!(!cut);
        let body = body.unwrap();
        for secret in ["s3", "\"h\"", "\"k\"", "\"a\""] {
            assert!(!body.contains(secret), "{body}");
        }
        assert!(body.contains("cli_1") && body.contains("\"n\":1"), "{body}");
    }

    #[test]
    fn other_bodies_are_kept_only_without_credentials() {
        assert_eq!(redact_body(b"hello").0.as_deref(), Some("hello"));
        assert!(!redact_body(b"app_secret=x").0.unwrap().contains('x'));
        let (body, cut) = redact_body(&[b'a'; BODY_CAP + 10]);
        assert_eq!((body.unwrap().len(), cut), (BODY_CAP, true));
        assert_eq!(redact_body(b""), (None, false));
    }

    #[test]
    fn queries_lose_credential_values() {
        assert_eq!(
            redact_query("page_size=10&access_token=abc&page_token=p1"),
            "page_size=10&access_token=<redacted>&page_token=p1"
        );
    }

    fn entry(app: Option<&str>, log_id: &str) -> Entry {
        Entry {
            seq: 0,
            log_id: log_id.into(),
            time_ms: 0,
            app_id: app.map(str::to_owned),
            method: "GET".into(),
            path: "/".into(),
            query: None,
            headers: vec![],
            body: None,
            body_truncated: false,
            status: 200,
            code: Some(0),
            latency_ms: 0.0,
        }
    }

    #[test]
    fn keeps_the_last_n_per_app_and_finds_by_log_id() {
        let journal = Journal::new(2);
        for (app, id) in [
            (Some("a"), "1"),
            (Some("a"), "2"),
            (Some("a"), "3"),
            (None, "4"),
            (Some("b"), "5"),
        ] {
            journal.record(entry(app, id));
        }
        let ids = |entries: Vec<Entry>| entries.into_iter().map(|e| e.log_id).collect::<Vec<_>>();
        assert_eq!(ids(journal.query(Some("a"), None, 10)), ["3", "2"]);
        assert_eq!(ids(journal.query(None, None, 10)), ["5", "4", "3", "2"]);
        assert_eq!(ids(journal.query(Some(""), None, 10)), ["4"]);
        assert_eq!(ids(journal.query(None, Some("2"), 10)), ["2"]);
        assert_eq!(ids(journal.query(None, None, 1)), ["5"]);
        assert_eq!(journal.clear(Some("a")), 2);
        assert_eq!(journal.clear(None), 2);
        assert!(journal.query(None, None, 10).is_empty());
        let off = Journal::new(0);
        off.record(entry(None, "x"));
        assert!(off.query(None, None, 10).is_empty());
    }
}
