//! Rate limiting per app × tenant × endpoint.

use serde_json::json;

use crate::common::{TestServer, assert_feishu_error};

async fn burst(
    server: &TestServer,
    token: &str,
    helpdesk: &str,
    ticket: &str,
    n: usize,
) -> Vec<crate::common::Response> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(server.get_ticket(ticket, Some(token), Some(helpdesk)).await);
    }
    out
}

#[tokio::test]
async fn get_ticket_allows_10_per_second_then_429() {
    let server = TestServer::start().await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let ticket = server.demo().ticket_ids[0].clone();
    let responses = burst(&server, &token, &helpdesk, &ticket, 30).await;
    let limited: Vec<_> = responses.iter().filter(|r| r.status == 429).collect();
    let ok = responses.iter().filter(|r| r.status == 200).count();
    assert!(
        !limited.is_empty(),
        "30 back-to-back requests must hit the 10/s limit"
    );
    // The burst is 10 and refill is 1 per 100 ms; 30 sequential local requests take far less
    // than 2 s, so at most 10 + 20 could pass only if the test were very slow.
    assert!(ok >= 10, "the first 10 pass");
    let r = limited[0];
    assert_feishu_error(r, 429, 99991400);
    assert_eq!(r.header("x-ogw-ratelimit-limit"), Some("10"));
    let reset: u64 = r.header("x-ogw-ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=1).contains(&reset), "reset {reset}");
    assert_eq!(r.json()["msg"], json!("request trigger frequency limit"));

    // Another app of the same tenant has its own bucket.
    let demo = server.demo().clone();
    let app = server
        .admin("/apps", json!({"tenant_key": demo.tenant_key, "name": "second"}))
        .await;
    let token2 = server
        .tenant_token(
            app["app_id"].as_str().unwrap(),
            app["app_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        server
            .get_ticket(&ticket, Some(&token2), Some(&helpdesk))
            .await
            .status,
        200
    );

    // After the reset the first app is served again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        server
            .get_ticket(&ticket, Some(&token), Some(&helpdesk))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn limits_can_be_switched_off_or_changed() {
    let off = TestServer::start_with(&["--no-rate-limit"]).await;
    let token = off.demo_token().await;
    let helpdesk = off.demo_helpdesk_header();
    let ticket = off.demo().ticket_ids[0].clone();
    assert!(
        burst(&off, &token, &helpdesk, &ticket, 40)
            .await
            .iter()
            .all(|r| r.status == 200)
    );

    let strict = TestServer::start_with(&["--rate-limit", "get_ticket=2"]).await;
    let token = strict.demo_token().await;
    let helpdesk = strict.demo_helpdesk_header();
    let ticket = strict.demo().ticket_ids[0].clone();
    let responses = burst(&strict, &token, &helpdesk, &ticket, 5).await;
    let r = responses
        .iter()
        .find(|r| r.status == 429)
        .expect("limited at 2/s");
    assert_eq!(r.header("x-ogw-ratelimit-limit"), Some("2"));
}
