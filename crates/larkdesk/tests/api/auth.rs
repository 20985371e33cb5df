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
    for bad in [tampered.as_str(), "t-g00", huge.as_str(), "' OR 1=1 --"] {
        let r = server.get_ticket(&id, Some(bad), Some(&helpdesk)).await;
        assert_feishu_error(&r, 400, 99991663);
    }
    // What looks like a user token is refused with the user-token code (issue 22 item 5).
    let huge_user = "u-".to_owned() + &"a".repeat(60_000);
    for bad in ["u-abc", "u-g00", "eyJhbGciOi.x.y", huge_user.as_str()] {
        let r = server.get_ticket(&id, Some(bad), Some(&helpdesk)).await;
        assert_feishu_error(&r, 400, 99991668);
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

/// Issue 22 item 4: the kind is signed, one token has one spelling.
#[tokio::test]
async fn a_token_s_kind_and_spelling_cannot_be_changed() {
    let desk = crate::lifecycle::Desk::new().await;
    let server = &desk.server;
    let id = server.demo().ticket_ids[0].clone();
    let helpdesk = server.demo_helpdesk_header();
    let user = desk.user_token(&desk.guest).await;
    assert!(user.starts_with("u-g"), "{user}");
    let tenant = server.demo_token().await;
    assert_eq!(
        server
            .get_ticket(&id, Some(&tenant), Some(&helpdesk))
            .await
            .code(),
        0
    );

    // A user token relabelled as a tenant token.
    let relabelled = user.replacen("u-", "t-", 1);
    assert_feishu_error(
        &server.get_ticket(&id, Some(&relabelled), Some(&helpdesk)).await,
        400,
        99991663,
    );
    // Upper-case spellings of a good tenant token.
    let upper_hex = format!("t-g{}", tenant[3..].to_ascii_uppercase());
    assert_ne!(upper_hex, tenant);
    for bad in [upper_hex, tenant.to_ascii_uppercase()] {
        assert_feishu_error(
            &server.get_ticket(&id, Some(&bad), Some(&helpdesk)).await,
            400,
            99991663,
        );
    }
}

/// Issue 22 item 5: a guest's user token carries a guest's powers — none over the helpdesk's
/// tickets — while an agent's user token and the tenant token keep theirs.
#[tokio::test]
async fn a_guest_s_user_token_neither_reads_nor_changes_tickets() {
    let desk = crate::lifecycle::Desk::new().await;
    let server = &desk.server;
    let id = desk.start(true).await;
    let guest = desk.user_token(&desk.guest).await;
    let agent = desk.user_token(&desk.agent_a).await;
    let call = async |token: &str, method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = server
            .http
            .request(method, server.url(&format!("/open-apis/helpdesk/v1{path}")))
            .bearer_auth(token)
            .header("X-Lark-Helpdesk-Authorization", &desk.header);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        server.send(request).await
    };
    let reads = [
        format!("/tickets/{id}"),
        "/tickets?page_size=5".to_owned(),
        format!("/tickets/{id}/messages"),
        format!("/ticket_images?ticket_id={id}&msg_id=om_x&index=0"),
    ];
    for path in &reads {
        let r = call(&guest, reqwest::Method::GET, path, None).await;
        assert_feishu_error(&r, 403, 154003);
    }
    let close = json!({"status": 51});
    let r = call(
        &guest,
        reqwest::Method::PUT,
        &format!("/tickets/{id}"),
        Some(close.clone()),
    )
    .await;
    assert_feishu_error(&r, 403, 154003);
    assert_ne!(
        desk.ticket(&id).await["status"],
        json!(51),
        "the guest closed nothing"
    );

    // The agent's user token and the tenant token still read and change.
    for path in &reads[..3] {
        let r = call(&agent, reqwest::Method::GET, path, None).await;
        assert_eq!((r.status, r.code()), (200, 0), "{path}: {}", r.text);
    }
    let r = call(
        &agent,
        reqwest::Method::PUT,
        &format!("/tickets/{id}"),
        Some(close),
    )
    .await;
    assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
    assert_eq!(desk.ticket(&id).await["status"], json!(51));
    let r = call(
        &desk.token,
        reqwest::Method::PUT,
        &format!("/tickets/{id}"),
        Some(json!({"status": 2})),
    )
    .await;
    assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
}
