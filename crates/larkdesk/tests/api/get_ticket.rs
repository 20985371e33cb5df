//! `GET /open-apis/helpdesk/v1/tickets/:ticket_id`: the seed document, field by field.

use serde_json::{Value, json};

use crate::common::{TestServer, helpdesk_header};

const GOLDEN: &str = include_str!("../golden/seed_get_ticket_response.json");

/// A server holding the seed's ticket in a helpdesk with the seed's helpdesk_id. Returns the
/// server, a tenant token and the helpdesk header.
async fn server_with_seed_ticket() -> (TestServer, String, String) {
    let server = TestServer::start().await;
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let ticket = &golden["data"]["ticket"];
    let demo = server.demo().clone();
    let helpdesk = server
        .admin(
            "/helpdesks",
            json!({"tenant_key": demo.tenant_key, "name": "seed", "helpdesk_id": ticket["helpdesk_id"]}),
        )
        .await;
    let imported = server
        .admin(
            &format!("/helpdesks/{}/tickets", ticket["helpdesk_id"].as_str().unwrap()),
            ticket.clone(),
        )
        .await;
    assert_eq!(imported["ticket_id"], ticket["ticket_id"]);
    let token = server.demo_token().await;
    let header = helpdesk_header(
        helpdesk["helpdesk_id"].as_str().unwrap(),
        helpdesk["helpdesk_token"].as_str().unwrap(),
    );
    (server, token, header)
}

#[tokio::test]
async fn seed_example_response_round_trips_exactly() {
    let (server, token, header) = server_with_seed_ticket().await;
    let r = server
        .get_ticket("6626871355780366331", Some(&token), Some(&header))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    assert!(r.header("x-tt-logid").is_some_and(|l| l.len() == 34));
    // serde_json's Value equality distinguishes 50 from 50.0 and "1" from 1, so this pins
    // field names, JSON types and values of every field the seed shows.
    let got: Value = r.json();
    let want: Value = serde_json::from_str(GOLDEN).unwrap();
    assert_eq!(got, want);
}

#[tokio::test]
async fn wire_types_of_the_seed_fields() {
    let (server, token, header) = server_with_seed_ticket().await;
    let r = server
        .get_ticket("6626871355780366331", Some(&token), Some(&header))
        .await;
    let t = &r.json()["data"]["ticket"];
    for id_field in ["ticket_id", "helpdesk_id"] {
        assert!(t[id_field].is_string(), "{id_field}");
    }
    assert!(t["comments"].is_object(), "comments is an object, not an array");
    // 7262656095919128578 > 2^53: it must reach the wire as the exact integer text.
    assert!(r.text.contains(r#""user_id":7262656095919128578"#), "{}", r.text);
    assert!(t["comments"]["user_id"].is_u64());
    assert!(t["agent_service_duration"].is_f64());
    assert!(r.text.contains(r#""agent_service_duration":42624.95"#));
    for int_field in [
        "ticket_type",
        "status",
        "score",
        "created_at",
        "updated_at",
        "closed_at",
        "channel",
        "solve",
        "agent_first_response_duration",
        "bot_service_duration",
        "agent_resolution_time",
        "actual_processing_time",
        "agent_entry_time",
        "agent_first_response_time",
        "agent_last_response_time",
    ] {
        assert!(
            t[int_field].is_i64(),
            "{int_field} must be an integer: {}",
            t[int_field]
        );
    }
    assert!(t["customized_fields"][0]["position"].is_i64());
    assert!(t["tags"][0]["id"].is_string());
    // Milliseconds, not seconds.
    assert_eq!(t["created_at"], json!(1_616_920_429_000_i64));
}

#[tokio::test]
async fn unset_fields_follow_the_documented_presence_rules() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let imported = server
        .admin(
            &format!("/helpdesks/{}/tickets", demo.helpdesk_id),
            json!({"guest": {"id": "ou_guest", "name": "G"}, "ticket_type": 1, "status": 1, "created_at": 1_700_000_000_000_i64}),
        )
        .await;
    let id = imported["ticket_id"].as_str().unwrap();
    let r = server.demo_get_ticket(id).await;
    let t = &r.json()["data"]["ticket"];
    assert_eq!(t["updated_at"], json!(-1), "updated_at is -1 when unset");
    for omitted in [
        "customized_fields",
        "tags",
        "comments",
        "closed_by",
        "agent_owner",
        "dissatisfaction_reason",
    ] {
        assert!(t.get(omitted).is_none(), "{omitted} should be omitted: {t}");
    }
    assert_eq!(t["agents"], json!([]));
    assert_eq!(t["collaborators"], json!([]));
    assert_eq!(
        t["guest"],
        json!({"id": "ou_guest", "avatar_url": "", "name": "G", "email": "", "department": "", "city": "", "country": ""})
    );
    assert_eq!(t["helpdesk_id"], json!(demo.helpdesk_id));
    assert!(
        t["ticket_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );
}

#[tokio::test]
async fn demo_tickets_are_readable() {
    let server = TestServer::start().await;
    let ids = server.demo().ticket_ids.clone();
    assert!(ids.len() >= 2);
    for id in ids {
        let r = server.demo_get_ticket(&id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["data"]["ticket"]["ticket_id"], json!(id));
    }
}

#[tokio::test]
async fn get_with_a_json_body_is_accepted() {
    // The Node SDK sends `{}` as the body of GET requests.
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
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn ticket_of_another_helpdesk_is_not_visible() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    // A second helpdesk of the same tenant, with its own ticket.
    let other = server
        .admin(
            "/helpdesks",
            json!({"tenant_key": demo.tenant_key, "name": "second"}),
        )
        .await;
    let other_id = other["helpdesk_id"].as_str().unwrap();
    let imported = server
        .admin(
            &format!("/helpdesks/{other_id}/tickets"),
            json!({"guest": {"id": "ou_x"}, "ticket_type": 1, "status": 1, "created_at": 1}),
        )
        .await;
    let r = server
        .demo_get_ticket(imported["ticket_id"].as_str().unwrap())
        .await;
    crate::common::assert_feishu_error(&r, 404, 154004);
    // ... but it is visible with the second helpdesk's credentials.
    let token = server.demo_token().await;
    let header = helpdesk_header(other_id, other["helpdesk_token"].as_str().unwrap());
    let r = server
        .get_ticket(
            imported["ticket_id"].as_str().unwrap(),
            Some(&token),
            Some(&header),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_instance_reads_its_own_writes_through_the_ticket_cache() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let id = demo.ticket_ids[0].clone();
    let before = server.demo_get_ticket(&id).await.json();
    assert_eq!(
        server.demo_get_ticket(&id).await.json(),
        before,
        "served again (from the cache)"
    );
    // Any write through this instance, here an emulator action, is visible on the next read.
    server
        .admin(
            &format!("/helpdesks/{}/tickets/{id}/guest_message", demo.helpdesk_id),
            json!({"content": "hi"}),
        )
        .await;
    let after = server.demo_get_ticket(&id).await.json();
    assert_ne!(
        after["data"]["ticket"]["updated_at"],
        before["data"]["ticket"]["updated_at"]
    );
}

#[tokio::test]
async fn another_instance_sees_a_write_within_the_cache_lifetime() {
    let a = TestServer::start().await;
    let b = a.another_instance(&[]).await;
    let demo = a.demo().clone();
    let id = demo.ticket_ids[0].clone();
    let token = a.demo_token().await;
    let header = a.demo_helpdesk_header();
    let before = b.get_ticket(&id, Some(&token), Some(&header)).await.json();
    a.admin(
        &format!("/helpdesks/{}/tickets/{id}/guest_message", demo.helpdesk_id),
        json!({"content": "hi"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = b.get_ticket(&id, Some(&token), Some(&header)).await.json();
    assert_ne!(
        after["data"]["ticket"]["updated_at"],
        before["data"]["ticket"]["updated_at"]
    );
}

/// Plain-digit ids skip the router (larkdesk_api::hot_path); a percent-encoded id of the same
/// digits is routed. Both must give the same answers: success, the auth errors (checked before
/// the id, as Feishu does), a bad id, an unknown id, and HEAD.
#[tokio::test]
async fn the_router_and_the_hot_path_answer_alike() {
    // More GETs than Feishu's per-second limit allows; the limiter has its own tests.
    let server = TestServer::start_with(&["--no-rate-limit"]).await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let id = server.demo().ticket_ids[0].clone();
    let get = |path: String, token: Option<String>, helpdesk: Option<String>| {
        let server = &server;
        async move {
            let r = server
                .get_ticket(&path, token.as_deref(), helpdesk.as_deref())
                .await;
            // The log id differs per request; everything else must not.
            let mut body: Value = serde_json::from_str(&r.text).unwrap_or(Value::String(r.text.clone()));
            if let Some(error) = body.get_mut("error") {
                error["log_id"] = json!("-");
                if let Some(link) = error.get_mut("troubleshooter") {
                    *link = json!(
                        link.as_str()
                            .unwrap()
                            .replace(r.header("x-tt-logid").unwrap(), "-")
                    );
                }
            }
            (r.status, r.header("content-type").map(str::to_owned), body)
        }
    };
    let percent_encoded = |id: &str| id.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let auth_cases = [
        (Some(token.clone()), Some(helpdesk.clone())),
        (None, Some(helpdesk.clone())),
        (Some("t-not-a-token".to_owned()), Some(helpdesk.clone())),
        (Some(token.clone()), None),
        (Some(token.clone()), Some("bm8tc3VjaDpoZWxwZGVzaw==".to_owned())),
    ];
    // The demo ticket, an unknown id, and one digit too many for an i64.
    let mut statuses = Vec::new();
    for id in [id.clone(), "1".to_owned(), "99999999999999999999".to_owned()] {
        for (token, helpdesk) in &auth_cases {
            let hot = get(id.clone(), token.clone(), helpdesk.clone()).await;
            let routed = get(percent_encoded(&id), token.clone(), helpdesk.clone()).await;
            assert_eq!(hot, routed, "id {id}, token {token:?}, helpdesk {helpdesk:?}");
            statuses.push(hot.0);
        }
    }
    // Success, then the token errors (400) and the helpdesk errors (401) whatever the id; then
    // the unknown id (404) and the bad one (400).
    assert_eq!(statuses[..5], [200, 400, 400, 401, 401]);
    assert_eq!(statuses[5..], [404, 400, 400, 401, 401, 400, 400, 400, 401, 401]);
    let (_, _, body) = get(id.clone(), Some(token.clone()), Some(helpdesk.clone())).await;
    assert_eq!(body["data"]["ticket"]["ticket_id"], json!(id));

    // HEAD is routed (axum answers it with GET's status and headers, no body).
    let head = server
        .send(
            server
                .http
                .head(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &helpdesk),
        )
        .await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
}

/// Issue 22 item 16: the demo agent's comment and a comment the same agent writes through the
/// API carry the same `comments.user_id`.
#[tokio::test]
async fn one_agent_has_one_comment_user_id() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let mut commented = None;
    for id in &demo.ticket_ids {
        let t = server.demo_get_ticket(id).await.json()["data"]["ticket"].clone();
        if t.get("comments").is_some() {
            commented = Some((id.clone(), t));
        }
    }
    let (id, t) = commented.expect("a demo ticket with a comment");
    let agent = t["closed_by"]["id"]
        .as_str()
        .expect("closed by the demo agent")
        .to_owned();
    let before = t["comments"]["user_id"].clone();
    let token = server
        .admin(
            &format!("/tenants/{}/users/{agent}/user_access_token", demo.tenant_key),
            serde_json::json!({"app_id": demo.app_id}),
        )
        .await["user_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = server
        .send(
            server
                .http
                .put(server.url(&format!("/open-apis/helpdesk/v1/tickets/{id}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                .body(serde_json::json!({"comment": "again"}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let after = server.demo_get_ticket(&id).await.json()["data"]["ticket"]["comments"].clone();
    assert_eq!(after["content"], serde_json::json!("again"));
    assert_eq!(after["user_id"], before, "one agent, one comments.user_id");
}

/// Issue 22 item 17: an app on the `production` wire profile gets `comments` as a list on GET and
/// list tickets (as production is reported to send it); `docs`, the default, keeps the object.
#[tokio::test]
async fn the_production_wire_profile_sends_comments_as_a_list() {
    let desk = crate::lifecycle::Desk::new().await;
    let server = &desk.server;
    let id = desk.start(true).await;
    let r = server
        .send(
            desk.feishu(reqwest::Method::PUT, &format!("/tickets/{id}"))
                .body(json!({"comment": "noted"}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let profile = async |name: &str| {
        server
            .admin_request(
                reqwest::Method::PUT,
                &format!("/apps/{}/wire_profile", desk.app_id),
                json!({"wire_profile": name}),
            )
            .await
    };
    let list_comments = async || {
        let r = server
            .send(desk.feishu(reqwest::Method::GET, &format!("/tickets?ticket_id={id}")))
            .await;
        r.json()["data"]["tickets"][0]["comments"].clone()
    };
    assert!(desk.ticket(&id).await["comments"].is_object());
    assert!(list_comments().await.is_object());

    assert_eq!(profile("production").await.code(), 0);
    let comments = desk.ticket(&id).await["comments"].clone();
    assert_eq!(comments.as_array().map(Vec::len), Some(1), "{comments}");
    assert_eq!(comments[0]["content"], json!("noted"));
    let listed = list_comments().await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    assert_eq!(profile("docs").await.code(), 0);
    assert!(desk.ticket(&id).await["comments"].is_object());
    let r = profile("staging").await;
    crate::common::assert_admin_error(&r, 400, 154000);
}
