//! Every admin API error is a JSON envelope (issue 22, Low 12).

use reqwest::Method;
use serde_json::json;

use crate::common::{TestServer, assert_admin_error};

#[tokio::test]
async fn undecodable_admin_path_parameters_are_json_errors() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    // %FF and %C3%28 decode to bytes that are not UTF-8.
    for path in [
        "/apps/%FF/rotate_secret".to_owned(),
        "/apps/%C3%28/scopes".to_owned(),
        format!("/helpdesks/{}/tickets/%FF/events", demo.helpdesk_id),
        format!("/tenants/{}/users/%FF%FE/user_access_token", demo.tenant_key),
        format!("/helpdesks/%FF/tickets/{}/close", demo.ticket_ids[0]),
    ] {
        let method = if path.ends_with("/scopes") {
            Method::PUT
        } else if path.ends_with("/events") {
            Method::GET
        } else {
            Method::POST
        };
        let r = server.admin_request(method, &path, json!({})).await;
        assert_admin_error(&r, 400, 154000);
    }
    // Unknown admin paths and methods too.
    let r = server
        .admin_request(Method::POST, "/no_such_thing", json!({}))
        .await;
    assert_admin_error(&r, 404, 154004);
    let r = server.admin_request(Method::DELETE, "/tenants", json!({})).await;
    assert_admin_error(&r, 404, 154004);
}

/// Admin errors carry no Feishu troubleshooter link; Feishu API errors keep theirs (issue 23, item 8).
#[tokio::test]
async fn admin_errors_have_no_feishu_troubleshooter_link() {
    let server = TestServer::start().await;
    let r = server
        .admin_request(Method::POST, "/tenants", json!({"name": 7}))
        .await;
    crate::common::assert_admin_error(&r, 400, 154000);
    let r = server
        .send(
            server
                .http
                .post(server.url("/larkdesk/admin/v1/tenants"))
                .body("{}"),
        )
        .await;
    crate::common::assert_admin_error(&r, 401, 154001);
    let r = server
        .send(server.http.get(server.url("/open-apis/helpdesk/v1/tickets/1")))
        .await;
    assert!(r.status >= 400, "{}", r.text);
    let body = r.json();
    let link = body["error"]["troubleshooter"]
        .as_str()
        .expect("Feishu errors keep the link");
    assert!(link.contains("open.feishu.cn"), "{}", r.text);
}
