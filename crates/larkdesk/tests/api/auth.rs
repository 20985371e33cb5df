//! Authentication and authorization of `GET /tickets/:id`: tenant token, app type, scopes and
//! the helpdesk credential.

use base64::Engine;
use serde_json::json;

use crate::common::{TestServer, assert_feishu_error, helpdesk_header};

#[tokio::test]
async fn missing_or_malformed_authorization_is_99991661() {
    let server = TestServer::start().await;
    let id = server.demo().ticket_ids[0].clone();
    let helpdesk = server.demo_helpdesk_header();
    assert_feishu_error(
        &server.get_ticket(&id, None, Some(&helpdesk)).await,
        400,
        99991661,
    );
    let token = server.demo_token().await;
    for value in [
        token.clone(),
        format!("Basic {token}"),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        String::new(),
    ] {
        let r = server
            .send(
                server
                    .http
                    .get(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}")))
                    .header("Authorization", value.clone())
                    .header("X-Lark-Helpdesk-Authorization", &helpdesk),
            )
            .await;
        assert_feishu_error(&r, 400, 99991661);
    }
}

#[tokio::test]
async fn invalid_tokens_are_99991663() {
    let server = TestServer::start().await;
    let id = server.demo().ticket_ids[0].clone();
    let helpdesk = server.demo_helpdesk_header();
    let token = server.demo_token().await;
    let mut tampered = token.clone();
    tampered.replace_range(10..11, if &token[10..11] == "0" { "1" } else { "0" });
    let huge = "t-".to_owned() + &"a".repeat(60_000);
    for bad in [
        tampered.as_str(),
        "t-g00",
        "u-abc",
        "eyJhbGciOi.x.y",
        huge.as_str(),
        "' OR 1=1 --",
    ] {
        let r = server.get_ticket(&id, Some(bad), Some(&helpdesk)).await;
        assert_feishu_error(&r, 400, 99991663);
    }
    // Non-UTF-8 bytes in the header value.
    let r = server
        .send(
            server
                .http
                .get(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}")))
                .header(
                    "Authorization",
                    reqwest::header::HeaderValue::from_bytes(b"Bearer t-\xff\xfe").unwrap(),
                )
                .header("X-Lark-Helpdesk-Authorization", &helpdesk),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!([99991661, 99991663].contains(&r.code()), "{}", r.text);
}

#[tokio::test]
async fn helpdesk_header_with_and_without_bearer_prefix() {
    let server = TestServer::start().await;
    let id = server.demo().ticket_ids[0].clone();
    let token = server.demo_token().await;
    let raw = server.demo_helpdesk_header();
    for value in [raw.clone(), format!("Bearer {raw}"), format!("bearer {raw}")] {
        let r = server.get_ticket(&id, Some(&token), Some(&value)).await;
        assert_eq!(r.status, 200, "{value}: {}", r.text);
    }
}

#[tokio::test]
async fn wrong_or_missing_helpdesk_credentials_are_401_154001() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let id = demo.ticket_ids[0].clone();
    let token = server.demo_token().await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let huge = "A".repeat(50_000);
    let cases = [
        helpdesk_header(&demo.helpdesk_id, "ht-wrong"),
        helpdesk_header("123", &demo.helpdesk_token),
        b64(&demo.helpdesk_id),
        b64(&format!("{}:", demo.helpdesk_id)),
        "!!!not base64!!!".to_owned(),
        format!("{}:{}", demo.helpdesk_id, demo.helpdesk_token),
        huge,
        b64("' OR 1=1 --:x"),
    ];
    assert_feishu_error(&server.get_ticket(&id, Some(&token), None).await, 401, 154001);
    for value in cases {
        let r = server.get_ticket(&id, Some(&token), Some(&value)).await;
        assert_feishu_error(&r, 401, 154001);
    }
}

#[tokio::test]
async fn app_and_helpdesk_of_different_tenants_are_401_154001() {
    let server = TestServer::start().await;
    let other = server.new_tenant(json!({})).await;
    let id = server.demo().ticket_ids[0].clone();
    // Other tenant's app with the demo helpdesk's (correct) credentials.
    let token = server.tenant_token(&other.app_id, &other.app_secret).await;
    let r = server
        .get_ticket(&id, Some(&token), Some(&server.demo_helpdesk_header()))
        .await;
    assert_feishu_error(&r, 401, 154001);
    // Demo app with the other tenant's helpdesk.
    let demo_token = server.demo_token().await;
    let r = server
        .get_ticket(&id, Some(&demo_token), Some(&other.helpdesk_header()))
        .await;
    assert_feishu_error(&r, 401, 154001);
}

#[tokio::test]
async fn missing_scope_is_99991672_with_permission_violations() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let other = server
        .new_tenant(json!({"scopes": ["helpdesk:helpdesk:access"]}))
        .await;
    let token = server.tenant_token(&other.app_id, &other.app_secret).await;
    let r = server
        .get_ticket(&demo.ticket_ids[0], Some(&token), Some(&other.helpdesk_header()))
        .await;
    assert_feishu_error(&r, 400, 99991672);
    let violations = r.json()["error"]["permission_violations"].clone();
    let subjects: Vec<&str> = violations
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["helpdesk:all:readonly", "helpdesk:all"]);
    assert_eq!(violations[0]["type"], json!("action_scope_required"));
}

#[tokio::test]
async fn either_scope_is_enough() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    for scope in ["helpdesk:all", "helpdesk:all:readonly"] {
        let r = server
            .admin_request(
                reqwest::Method::PUT,
                &format!("/apps/{}/scopes", demo.app_id),
                json!({"scopes": [scope]}),
            )
            .await;
        assert_eq!(r.code(), 0, "{}", r.text);
        let r = server.demo_get_ticket(&demo.ticket_ids[0]).await;
        assert_eq!(r.status, 200, "{scope}: {}", r.text);
    }
}

#[tokio::test]
async fn store_apps_are_refused_with_403_154003() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let app = server
        .admin(
            "/apps",
            json!({"tenant_key": demo.tenant_key, "name": "store app", "app_type": "store"}),
        )
        .await;
    let minted = server
        .admin(
            &format!("/apps/{}/tenant_access_token", app["app_id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    let token = minted["tenant_access_token"].as_str().unwrap();
    let r = server
        .get_ticket(
            &demo.ticket_ids[0],
            Some(token),
            Some(&server.demo_helpdesk_header()),
        )
        .await;
    assert_feishu_error(&r, 403, 154003);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("custom"));
}
