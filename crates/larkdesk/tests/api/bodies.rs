//! Request bodies: credentials are checked before a body is read, a body must arrive in time,
//! and bodies in flight share one memory budget (issue 22, High 2).

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestServer;

/// What a raw connection got back: status, headers (lower-cased names) and body.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn assert_feishu_error(&self, status: u16, code: i64) {
        assert_eq!(self.status, status, "{}\n{}", self.head, self.body);
        let body = self.json();
        assert_eq!(body["code"], serde_json::json!(code), "{}", self.body);
        assert!(body["error"]["log_id"].as_str().is_some(), "{}", self.body);
    }
}

/// Send `head` (request line and headers, without the blank line) and `sent` bytes of a body,
/// then stall: send nothing more, and read what the server answers until it closes the
/// connection. Panics if nothing complete comes back within `patience`.
async fn stall(base: &str, head: &str, sent: &[u8], patience: Duration) -> Raw {
    let mut stream = open(base, head, sent).await;
    answer(&mut stream, patience).await
}

/// A connection that has sent `head` and `sent` bytes of a body.
async fn open(base: &str, head: &str, sent: &[u8]) -> tokio::net::TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("{head}\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // The server may answer and close before taking all of it.
    let _ = stream.write_all(sent).await;
    stream
}

/// Read what the server answers on `stream` until it closes the connection.
async fn answer(stream: &mut tokio::net::TcpStream, patience: Duration) -> Raw {
    let mut got = Vec::new();
    let read = tokio::time::timeout(patience, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(
        read.is_ok(),
        "the server neither answered nor closed within {patience:?}; got {text:?}"
    );
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    Raw {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

const TWO_MIB: usize = 2 * 1024 * 1024;

#[tokio::test]
async fn stalled_bodies_without_valid_credentials_are_answered_and_closed_without_being_read() {
    let server = TestServer::start().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let path = format!("/open-apis/helpdesk/v1/tickets/{ticket}/messages");
    // Many at once, each announcing a 2 MiB body and sending 1 KiB of it.
    let mut stalled = Vec::new();
    for i in 0..60 {
        let auth = match i % 3 {
            0 => String::new(),
            1 => "\r\nAuthorization: Bearer t-forged".to_owned(),
            _ => "\r\nAuthorization: Bearer".to_owned(),
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {TWO_MIB}{auth}"
        );
        let base = server.base.clone();
        stalled.push(tokio::spawn(async move {
            (
                i,
                stall(&base, &head, &[b' '; 1024], Duration::from_secs(20)).await,
            )
        }));
    }
    for task in stalled {
        let (i, raw) = task.await.unwrap();
        let code = if i % 3 == 1 { 99991663 } else { 99991661 };
        raw.assert_feishu_error(400, code);
        assert!(raw.head.contains("connection: close"), "{}", raw.head);
    }
    // The admin API too: its token is checked before its body is read.
    let raw = stall(
        &server.base,
        &format!("POST /larkdesk/admin/v1/users HTTP/1.1\r\nContent-Length: {TWO_MIB}"),
        &[b' '; 1024],
        Duration::from_secs(20),
    )
    .await;
    raw.assert_feishu_error(401, 154001);
    // The token endpoints (credentials in the body) take small bodies only.
    let raw = stall(
        &server.base,
        &format!(
            "POST /open-apis/auth/v3/tenant_access_token/internal HTTP/1.1\r\nContent-Length: {TWO_MIB}"
        ),
        &[b' '; 1024],
        Duration::from_secs(20),
    )
    .await;
    raw.assert_feishu_error(400, 154000);
    // And the server serves normal requests as before.
    assert_eq!(server.demo_get_ticket(&ticket).await.status, 200);
}

#[tokio::test]
async fn an_authenticated_body_that_stalls_gets_a_feishu_timeout_error() {
    let server = TestServer::start_with(&["--body-timeout-ms", "300"]).await;
    let token = server.demo_token().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let raw = stall(
        &server.base,
        &format!(
            "POST /open-apis/helpdesk/v1/tickets/{ticket}/messages HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Length: 1000"
        ),
        b"{\"msg_type\"",
        Duration::from_secs(20),
    )
    .await;
    raw.assert_feishu_error(408, 154000);
    assert!(raw.head.contains("connection: close"), "{}", raw.head);
    assert_eq!(server.demo_get_ticket(&ticket).await.status, 200);
}

#[tokio::test]
async fn bodies_in_flight_share_a_memory_budget_that_is_given_back() {
    let server = TestServer::start_with(&["--body-memory-mib", "1", "--body-timeout-ms", "60000"]).await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let ticket = server.demo().ticket_ids[0].clone();
    let path = format!("/open-apis/helpdesk/v1/tickets/{ticket}/messages");

    // Two authenticated clients each send 600 KiB of a 1.9 MiB body, then stall: both do not
    // fit in the 1 MiB budget, so whichever comes second is refused at once, Feishu-style, and
    // told to retry; the other is held.
    let head = format!("POST {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Length: 1992294");
    let mut first = open(&server.base, &head, &vec![b' '; 600 * 1024]).await;
    let mut second = open(&server.base, &head, &vec![b' '; 600 * 1024]).await;
    let patience = Duration::from_secs(30);
    let (refused, hog) = tokio::select! {
        r = answer(&mut first, patience) => (r, second),
        r = answer(&mut second, patience) => (r, first),
    };
    refused.assert_feishu_error(503, 155000);
    assert!(refused.head.contains("retry-after: 1"), "{}", refused.head);
    // Requests without a body are served meanwhile.
    assert_eq!(server.demo_get_ticket(&ticket).await.status, 200);

    let post = || {
        server.send(
            server
                .http
                .post(server.url(&path))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &helpdesk)
                .body(vec![b' '; 600 * 1024]),
        )
    };
    // The hog leaves: its share comes back, and the same request is read (and judged) again.
    drop(hog);
    let mut served = None;
    for _ in 0..100 {
        let r = post().await;
        if r.status != 503 {
            served = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served = served.expect("the budget is given back when a client leaves");
    // The body was read and judged (spaces are no message).
    crate::common::assert_feishu_error(&served, 400, 154000);
}
