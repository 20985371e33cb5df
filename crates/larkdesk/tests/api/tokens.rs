//! `/open-apis/auth/v3/*_access_token/internal`.

use serde_json::json;

use crate::common::{TestServer, assert_admin_error, assert_feishu_error};

const TENANT: &str = "/open-apis/auth/v3/tenant_access_token/internal";
const APP: &str = "/open-apis/auth/v3/app_access_token/internal";

#[tokio::test]
async fn tenant_token_success_shape_without_content_type() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    // reqwest sends no Content-Type for a string body: the body is parsed as JSON anyway.
    let r = server
        .post_raw(
            TENANT,
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-tt-logid").is_some());
    let body = r.json();
    assert_eq!(body["code"], json!(0));
    assert_eq!(body["msg"], json!("ok"));
    assert_eq!(body["expire"], json!(7200));
    assert!(body.get("data").is_none(), "token bodies are top-level");
    assert!(body["tenant_access_token"].as_str().unwrap().starts_with("t-"));
}

#[tokio::test]
async fn tenant_token_with_json_content_type() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let r = server
        .send(
            server
                .http
                .post(server.url(TENANT))
                .header("content-type", "application/json; charset=utf-8")
                .body(json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
}

#[tokio::test]
async fn app_token_success_shape() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let r = server
        .post_raw(
            APP,
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    let body = r.json();
    assert_eq!(
        (r.status, body["code"].clone(), body["expire"].clone()),
        (200, json!(0), json!(7200))
    );
    assert!(body["app_access_token"].as_str().unwrap().starts_with("a-"));
    // An app token is not a tenant token.
    let r = server
        .get_ticket(
            &demo.ticket_ids[0],
            body["app_access_token"].as_str(),
            Some(&server.demo_helpdesk_header()),
        )
        .await;
    assert_feishu_error(&r, 400, 99991663);
}

#[tokio::test]
async fn token_failures_are_http_200_with_a_code() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let cases = [
        (
            json!({"app_id": demo.app_id, "app_secret": "wrong"}).to_string(),
            10014,
        ),
        (
            json!({"app_id": "cli_unknown", "app_secret": demo.app_secret}).to_string(),
            10003,
        ),
        (json!({"app_id": demo.app_id}).to_string(), 10003),
        (json!({"app_secret": demo.app_secret}).to_string(), 10003),
        ("not json".to_owned(), 10003),
        (String::new(), 10003),
        (json!({"app_id": 5, "app_secret": []}).to_string(), 10003),
        (
            json!({"app_id": "' OR 1=1 --", "app_secret": "x"}).to_string(),
            10003,
        ),
    ];
    for (body, code) in cases {
        for path in [TENANT, APP] {
            let r = server.post_raw(path, body.clone()).await;
            assert_eq!(r.status, 200, "{body}");
            assert_eq!(r.code(), code, "{path} {body}: {}", r.text);
            assert!(r.json()["msg"].as_str().is_some());
        }
    }
}

#[tokio::test]
async fn oversized_and_binary_bodies_are_refused_cleanly() {
    let server = TestServer::start().await;
    // Bodies over 2 MiB are refused before routing, like any other endpoint's.
    let r = server.post_raw(TENANT, vec![b'{'; 10 * 1024 * 1024]).await;
    assert_feishu_error(&r, 400, 154000);
    let r = server.post_raw(TENANT, vec![0xff, 0xfe, 0x00, 0x81]).await;
    assert_eq!((r.status, r.code()), (200, 10003));
}

#[tokio::test]
async fn same_token_until_30_minutes_remain_then_a_new_one_and_the_old_stays_valid() {
    let server = TestServer::start_with(&["--clock-control"]).await;
    let demo = server.demo().clone();
    let body = json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string();
    let first = server.post_raw(TENANT, body.clone()).await.json();
    let token = first["tenant_access_token"].as_str().unwrap().to_owned();

    // 90 min later: 30 min remain, still handed out again, with the remaining lifetime.
    server.admin("/clock/advance", json!({"seconds": 5400})).await;
    let again = server.post_raw(TENANT, body.clone()).await.json();
    assert_eq!(again["tenant_access_token"], json!(token));
    assert_eq!(again["expire"], json!(1800));

    // One second later less than 30 min remain: a new token with a full lifetime.
    server.admin("/clock/advance", json!({"seconds": 1})).await;
    let fresh = server.post_raw(TENANT, body.clone()).await.json();
    let new_token = fresh["tenant_access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, token);
    assert_eq!(fresh["expire"], json!(7200));

    // The old token is not revoked early...
    let ticket = &demo.ticket_ids[0];
    let helpdesk = server.demo_helpdesk_header();
    assert_eq!(
        server
            .get_ticket(ticket, Some(&token), Some(&helpdesk))
            .await
            .status,
        200
    );
    // ...but it does expire.
    server.admin("/clock/advance", json!({"seconds": 1799})).await;
    assert_feishu_error(
        &server.get_ticket(ticket, Some(&token), Some(&helpdesk)).await,
        400,
        99991663,
    );
    assert_eq!(
        server
            .get_ticket(ticket, Some(&new_token), Some(&helpdesk))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_token_issued_by_one_instance_is_accepted_by_another() {
    let first = TestServer::start().await;
    let second = first.another_instance(&[]).await;
    let token = first.demo_token().await;
    let demo = first.demo().clone();
    let r = second
        .get_ticket(
            &demo.ticket_ids[0],
            Some(&token),
            Some(&first.demo_helpdesk_header()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // And the second instance hands out the same current token.
    assert_eq!(second.tenant_token(&demo.app_id, &demo.app_secret).await, token);
}

#[tokio::test]
async fn clock_control_is_off_by_default() {
    let server = TestServer::start().await;
    let r = server.admin_raw("/clock/advance", json!({"seconds": 10})).await;
    assert_admin_error(&r, 403, 154003);
}

/// Issue 22 item 10: Feishu's `…/internal` token endpoints are for custom apps; a store app gets
/// no token there even with its right secret (its tokens come from the admin API).
#[tokio::test]
async fn store_apps_get_no_token_from_the_internal_endpoints() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let app = server
        .admin(
            "/apps",
            json!({"tenant_key": demo.tenant_key, "name": "store app", "app_type": "store"}),
        )
        .await;
    let (app_id, secret) = (
        app["app_id"].as_str().unwrap(),
        app["app_secret"].as_str().unwrap(),
    );
    for path in [TENANT, APP] {
        let r = server
            .post_raw(path, json!({"app_id": app_id, "app_secret": secret}).to_string())
            .await;
        assert_eq!((r.status, r.code()), (200, 10003), "{path}: {}", r.text);
        assert!(r.json().get("tenant_access_token").is_none() && r.json().get("app_access_token").is_none());
        // A wrong secret is still just a wrong secret: the app's type is told only to its owner.
        let r = server
            .post_raw(path, json!({"app_id": app_id, "app_secret": "wrong"}).to_string())
            .await;
        assert_eq!((r.status, r.code()), (200, 10014), "{path}: {}", r.text);
    }
    let minted = server
        .admin(&format!("/apps/{app_id}/tenant_access_token"), json!({}))
        .await;
    assert!(minted["tenant_access_token"].as_str().unwrap().starts_with("t-"));
}
