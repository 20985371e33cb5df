//! The "physical limit" for `bench/throughput.sh`: the same framework as larkdesk (axum on a
//! multi-thread tokio runtime, TCP_NODELAY), answering `GET /open-apis/helpdesk/v1/tickets/{id}`
//! with a fixed, pre-serialized ticket body of realistic size. No auth, no database, no
//! serialization: whatever larkdesk spends beyond this is its own work.
//!
//! Usage: `larkdesk-bench-baseline 127.0.0.1:8081`

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;

/// The example response of Feishu's GET ticket documentation (the test suite's golden file).
const TICKET_PRETTY: &str =
    include_str!("../../../crates/larkdesk/tests/golden/seed_get_ticket_response.json");

/// The body, minified once at start: larkdesk sends compact JSON, so the baseline does too.
static BODY: LazyLock<String> = LazyLock::new(|| minify(TICKET_PRETTY));

/// Drop whitespace outside JSON strings.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

async fn get_ticket(Path(_ticket_id): Path<String>) -> impl IntoResponse {
    let body: &'static str = BODY.as_str();
    ([(CONTENT_TYPE, "application/json; charset=utf-8")], body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let body: &'static str = BODY.as_str();
    let app = axum::Router::new().route("/open-apis/helpdesk/v1/tickets/{ticket_id}", get(get_ticket));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!(
        "larkdesk-bench-baseline listening on {} ({} byte body)",
        listener.local_addr()?,
        body.len()
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::minify;

    #[test]
    fn minify_drops_whitespace_outside_strings_only() {
        let pretty = "{\n  \"a b\": [1, 2],\n  \"c\": \"x \\\" y\"\n}\n";
        assert_eq!(minify(pretty), r#"{"a b":[1,2],"c":"x \" y"}"#);
    }

    #[test]
    fn the_body_is_a_realistic_ticket() {
        let body = minify(super::TICKET_PRETTY);
        assert!(body.starts_with(r#"{"code":0,"msg":"success","data":{"ticket":{"#));
        assert!((1500..3000).contains(&body.len()), "{} bytes", body.len());
    }
}
