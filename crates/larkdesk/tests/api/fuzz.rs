//! Generated bad requests at every endpoint: bad JSON, wrong types, huge numbers, odd unicode,
//! odd path parameters and query values, missing, forged and duplicate headers. Every answer must
//! come within 10 s, be no 5xx, and be a Feishu envelope (or Feishu's plain-text 404); the server
//! must log no panic and still serve afterwards.
//!
//! Bounded in time: `LARKDESK_FUZZ_SECS` (default 3; `scripts/test` gives it 25 per backend).
//! `LARKDESK_FUZZ_SEED` replays a run (the seed is printed).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::common::{ADMIN_TOKEN, TestServer};

const FIELD_NAMES: &[&str] = &[
    "msg_type",
    "content",
    "status",
    "tag_names",
    "comment",
    "customized_fields",
    "open_id",
    "human_service",
    "appointed_agents",
    "key_name",
    "display_name",
    "position",
    "field_type",
    "dropdown_options",
    "name",
    "rules",
    "agent_ids",
    "app_id",
    "app_secret",
    "question",
    "answer",
    "categories",
    "tags",
    "receiver_id",
    "receive_type",
    "visible",
    "editable",
    "required",
    "faq",
    "agent_schedule",
    "agent_schedules",
    "agent_skill",
    "notification",
    "reason",
    "events",
    "customized_info",
    "parent_id",
    "language",
    "id",
    "value",
    "schedule",
    "start_time",
    "end_time",
    "weekday",
    "selected_operator",
    "operand",
    "tenant_key",
    "is_agent",
    "by",
    "send_at",
    "push_scope_type",
    "department_list",
    "user_list",
    "chat_list",
    "image_keys",
];

const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "null",
    "true",
    "工单😀",
    "\u{202e}rtl",
    "\u{0}nul",
    "a\nb",
    "%FF",
    "../..",
    "99999999999999999999999",
    "-9223372036854775809",
    "9223372036854775807",
    "1e309",
    "NaN",
    "\u{feff}bom",
    "ou_nobody",
    "7000000000000000001",
];

const QUERY_KEYS: &[&str] = &[
    "page",
    "page_size",
    "page_token",
    "time_start",
    "time_end",
    "user_id_type",
    "visible_only",
    "status_list",
    "guest_id",
    "agent_id",
    "ticket_id",
    "update_time_start",
    "update_time_end",
    "create_time_start",
    "create_time_end",
    "tags",
    "channel",
    "solved",
    "closed_by_id",
    "type",
    "guest_name",
    "query",
    "base64",
    "msg_type",
    "id",
    "status",
    "parent_id",
    "language",
];

fn noise(rng: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

fn odd_string(rng: &mut StdRng) -> String {
    match rng.random_range(0..6) {
        // Random letters: they do not compress, as PostgreSQL would otherwise shrink them.
        0 => {
            let len = rng.random_range(0..5000);
            noise(rng, len)
        }
        1 => "字".repeat(rng.random_range(0..300)),
        _ => ODD_STRINGS[rng.random_range(0..ODD_STRINGS.len())].to_owned(),
    }
}

fn odd_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 | 5 => json!(odd_string(rng)),
        6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| odd_value(rng, depth + 1))
                .collect(),
        ),
        _ => odd_object(rng, depth + 1),
    }
}

fn odd_object(rng: &mut StdRng, depth: u32) -> Value {
    let mut map = serde_json::Map::new();
    for _ in 0..rng.random_range(0..6) {
        let key = FIELD_NAMES[rng.random_range(0..FIELD_NAMES.len())];
        map.insert(key.to_owned(), odd_value(rng, depth));
    }
    Value::Object(map)
}

/// A body: valid-looking JSON with wrong types, or text that is not JSON at all.
fn odd_body(rng: &mut StdRng) -> Option<Vec<u8>> {
    Some(match rng.random_range(0..12) {
        0 => return None,
        1 => b"{".to_vec(),
        2 => b"{\"content\": \"\\ud800\"}".to_vec(),
        3 => b"{\"status\": 1e400, \"page\": 18446744073709551616}".to_vec(),
        4 => "[".repeat(200).into_bytes(),
        5 => vec![0xff, 0xfe, 0x00, 0x7b],
        6 => b"{\"msg_type\":\"text\",\"msg_type\":\"post\",\"content\":\"dup\"}".to_vec(),
        7 => odd_value(rng, 0).to_string().into_bytes(),
        _ => odd_object(rng, 0).to_string().into_bytes(),
    })
}

/// `path` with each `{param}` replaced by a real id or an odd one.
fn fill_path(rng: &mut StdRng, path: &str, ticket: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        let value = match rng.random_range(0..8) {
            0..=2 => ticket.to_owned(),
            3 => "%FF%FE".to_owned(),
            4 => "99999999999999999999999".to_owned(),
            5 => "%E5%B7%A5%F0%9F%98%80".to_owned(),
            6 => {
                let len = rng.random_range(1..3000);
                noise(rng, len)
            }
            _ => "0".to_owned(),
        };
        out.push_str(&value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn odd_query(rng: &mut StdRng) -> String {
    (0..rng.random_range(0..4))
        .map(|_| {
            let key = QUERY_KEYS[rng.random_range(0..QUERY_KEYS.len())];
            let value: String = odd_string(rng)
                .bytes()
                .take(200)
                .map(|b| format!("%{b:02X}"))
                .collect();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What is wrong with a response, if anything.
fn judge(status: u16, content_type: Option<&str>, body: &str) -> Option<String> {
    if status >= 500 {
        return Some(format!("HTTP {status}"));
    }
    if status == 404 && body == "404 page not found" {
        return None;
    }
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        return Some(format!("HTTP {status} with content-type {content_type:?}"));
    }
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Some(format!("HTTP {status}: not JSON"));
    };
    if !value["code"].is_i64() || !value["msg"].is_string() {
        return Some(format!("HTTP {status}: no code/msg"));
    }
    if status >= 400 && !value["error"]["log_id"].is_string() {
        return Some(format!("HTTP {status}: no error.log_id"));
    }
    None
}

#[tokio::test]
async fn generated_bad_requests_get_feishu_errors_never_a_5xx_panic_or_hang() {
    let secs: u64 = std::env::var("LARKDESK_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("LARKDESK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("fuzz: {secs} s, LARKDESK_FUZZ_SEED={seed}");
    let server = std::sync::Arc::new(TestServer::start_with(&["--no-rate-limit"]).await);
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let ticket = server.demo().ticket_ids[0].clone();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut workers = Vec::new();
    for worker in 0..4u64 {
        let (server, http) = (server.clone(), http.clone());
        let (token, helpdesk, ticket) = (token.clone(), helpdesk.clone(), ticket.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed.wrapping_add(worker));
            let mut sent = 0u64;
            let mut failures = Vec::new();
            while Instant::now() < deadline && failures.len() < 10 {
                let admin = rng.random_range(0..10) == 0;
                let (method, path) = if admin {
                    let paths = [
                        ("POST", "/larkdesk/admin/v1/users"),
                        ("POST", "/larkdesk/admin/v1/tenants"),
                        ("POST", "/larkdesk/admin/v1/helpdesks/{h}/tickets"),
                        (
                            "POST",
                            "/larkdesk/admin/v1/helpdesks/{h}/tickets/{t}/guest_message",
                        ),
                        ("PUT", "/larkdesk/admin/v1/apps/{a}/scopes"),
                    ];
                    let (m, p) = paths[rng.random_range(0..paths.len())];
                    (m.to_owned(), fill_path(&mut rng, p, &ticket))
                } else {
                    let spec = &larkdesk_api::endpoints::ENDPOINTS
                        [rng.random_range(0..larkdesk_api::endpoints::ENDPOINTS.len())];
                    (
                        spec.method.as_str().to_owned(),
                        fill_path(&mut rng, spec.path, &ticket),
                    )
                };
                let query = odd_query(&mut rng);
                let url = if query.is_empty() {
                    server.url(&path)
                } else {
                    server.url(&format!("{path}?{query}"))
                };
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut request = http.request(method.clone(), &url);
                let bearer = if admin { ADMIN_TOKEN } else { token.as_str() };
                request = match rng.random_range(0..10) {
                    0 => request,
                    1 => request.header("Authorization", "Bearer t-forged.x.y"),
                    2 => request
                        .header("Authorization", format!("Bearer {bearer}"))
                        .header("Authorization", "Bearer other"),
                    _ => request.header("Authorization", format!("Bearer {bearer}")),
                };
                request = match rng.random_range(0..8) {
                    0 => request,
                    1 => request.header("X-Lark-Helpdesk-Authorization", "!!!"),
                    2 => request
                        .header("X-Lark-Helpdesk-Authorization", &helpdesk)
                        .header("X-Lark-Helpdesk-Authorization", &helpdesk),
                    _ => request.header("X-Lark-Helpdesk-Authorization", &helpdesk),
                };
                if rng.random_bool(0.2) {
                    request = request
                        .header("Content-Type", "application/json")
                        .header("Content-Type", "text/plain");
                }
                if let Some(body) = odd_body(&mut rng) {
                    request = request.body(body);
                }
                sent += 1;
                let what = format!("{method} {url}");
                match request.send().await {
                    Err(e) if e.is_timeout() => failures.push(format!("{what}: no answer within 10 s")),
                    Err(e) => failures.push(format!("{what}: {e}")),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let content_type = response
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = response.text().await.unwrap_or_default();
                        if let Some(wrong) = judge(status, content_type.as_deref(), &body) {
                            let shown: String = body.chars().take(300).collect();
                            failures.push(format!("{what}: {wrong}: {shown}"));
                        }
                    }
                }
            }
            (sent, failures)
        }));
    }
    let mut sent = 0;
    let mut failures = Vec::new();
    for worker in workers {
        let (n, f) = worker.await.unwrap();
        sent += n;
        failures.extend(f);
    }
    eprintln!("fuzz: {sent} requests");
    assert!(sent > 0);
    assert!(
        failures.is_empty(),
        "seed {seed}: {} bad answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let stderr = server.stderr();
    assert!(
        !stderr.contains("panicked"),
        "seed {seed}: the server panicked:\n{stderr}"
    );
    assert_eq!(
        server.demo_get_ticket(&ticket).await.status,
        200,
        "the server still serves"
    );
}
