//! Bad input of every kind gets a Feishu-style answer: never a panic, a bare 500 or a hang.

use serde_json::json;

use crate::common::{TestServer, assert_admin_error, assert_feishu_error};

#[tokio::test]
async fn malformed_ticket_ids_are_400_154000() {
    let server = TestServer::start().await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    for bad in [
        "abc",
        "1%20OR%201%3D1",
        "'%3B%20DROP%20TABLE%20tickets%3B--",
        "-1",
        "12345678901234567890",
        "%FF%FE",
        "%E4%B8%AD",
        "1.5",
        "0x10",
    ] {
        let r = server.get_ticket(bad, Some(&token), Some(&helpdesk)).await;
        assert_feishu_error(&r, 400, 154000);
    }
    // The tickets are still there.
    let id = server.demo().ticket_ids[0].clone();
    assert_eq!(
        server.get_ticket(&id, Some(&token), Some(&helpdesk)).await.status,
        200
    );
}

#[tokio::test]
async fn unknown_ticket_is_404_154004() {
    let server = TestServer::start().await;
    for id in ["1", "6626871355780366331", "9223372036854775807"] {
        assert_feishu_error(&server.demo_get_ticket(id).await, 404, 154004);
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_are_plain_text_404() {
    let server = TestServer::start().await;
    let id = server.demo().ticket_ids[0].clone();
    let requests = [
        server.http.get(server.url("/nope")),
        server.http.get(server.url("/open-apis/helpdesk/v1/nope")),
        server
            .http
            .get(server.url("/open-apis/helpdesk/v1/tickets/1/2/3")),
        server
            .http
            .post(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}"))),
        server
            .http
            .delete(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}"))),
        server
            .http
            .get(server.url("/open-apis/auth/v3/tenant_access_token/internal")),
    ];
    for request in requests {
        let r = server.send(request).await;
        assert_eq!((r.status, r.text.as_str()), (404, "404 page not found"));
        assert!(
            r.header("x-tt-logid").is_some(),
            "every response carries X-Tt-Logid"
        );
    }
}

#[tokio::test]
async fn ten_megabyte_body_on_get_ticket_is_400_154000_and_the_server_carries_on() {
    let server = TestServer::start().await;
    let token = server.demo_token().await;
    let id = server.demo().ticket_ids[0].clone();
    let r = server
        .send(
            server
                .http
                .get(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                .body(vec![b'x'; 10 * 1024 * 1024]),
        )
        .await;
    assert_feishu_error(&r, 400, 154000);
    assert_eq!(server.demo_get_ticket(&id).await.status, 200);
}

#[tokio::test]
async fn ten_megabyte_admin_body_is_400_154000() {
    let server = TestServer::start().await;
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/tenants"))
                .bearer_auth(&server.admin_token)
                .body(vec![b'{'; 10 * 1024 * 1024]),
        )
        .await;
    assert_admin_error(&r, 400, 154000);
}

#[tokio::test]
async fn corrupt_stored_data_is_500_155000_without_details() {
    let server = TestServer::start().await;
    let id = server.demo().ticket_ids[0].clone();
    // A GET reads the ticket's render: a corrupt one...
    server
        .sql(&format!(
            "UPDATE tickets SET render = '{{not json' WHERE ticket_id = {id}"
        ))
        .await;
    let r = server.demo_get_ticket(&id).await;
    assert_feishu_error(&r, 500, 155000);
    assert!(!r.text.contains("not json"), "no internals leak: {}", r.text);
    // ...and, without a render, the projection: a corrupt one.
    server
        .sql(&format!(
            "UPDATE tickets SET render = NULL, render_directory_version = NULL WHERE ticket_id = {id}"
        ))
        .await;
    server
        .sql(&format!(
            "UPDATE tickets SET customized_fields = 'not json' WHERE ticket_id = {id}"
        ))
        .await;
    let r = server.demo_get_ticket(&id).await;
    assert_feishu_error(&r, 500, 155000);
    assert!(
        !r.text.contains("not json") && !r.text.contains("customized_fields"),
        "no internals leak: {}",
        r.text
    );
    // The server keeps serving.
    let other = server.demo().ticket_ids[1].clone();
    assert_eq!(server.demo_get_ticket(&other).await.status, 200);
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    // The most verbose level: request traces and SQL statements included.
    let server = TestServer::start_logging(&[], "trace").await;
    let demo = server.demo().clone();
    let token = server.demo_token().await;
    let _ = server.demo_get_ticket(&demo.ticket_ids[0]).await;
    let _ = server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": demo.app_id, "app_secret": "wrong-secret"}).to_string(),
        )
        .await;
    let logs = server.stderr();
    assert!(
        logs.contains("listening") && logs.contains("tickets"),
        "trace logs are captured"
    );
    for secret in [
        demo.app_secret.as_str(),
        demo.helpdesk_token.as_str(),
        token.as_str(),
        "wrong-secret",
        server.admin_token.as_str(),
    ] {
        assert!(!logs.contains(secret), "secret leaked into logs");
    }
}
