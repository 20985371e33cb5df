//! Push jobs (`/notifications`): the whole approval and sending flow through the API, the approve
//! event, the sent messages, and the documented errors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Response, assert_feishu_error};
use crate::events::{Receiver, configure, subscribe};
use crate::lifecycle::Desk;

async fn call(desk: &Desk, token: &str, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = desk
        .server
        .http
        .request(method, desk.server.url(&format!("/open-apis/helpdesk/v1{path}")))
        .bearer_auth(token)
        .header("X-Lark-Helpdesk-Authorization", &desk.header);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
    }
    desk.server.send(request).await
}

async fn ok(desk: &Desk, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = call(desk, token, method.clone(), path, body).await;
    assert_eq!((r.status, r.code()), (200, 0), "{method} {path}: {}", r.text);
    r.json()["data"].clone()
}

fn job(users: &[&str]) -> Value {
    json!({
        "job_name": "Welcome",
        "push_content": "{\"config\":{},\"elements\":[]}",
        "push_type": 0,
        "push_scope_type": 2,
        "user_list": users.iter().map(|u| json!({"user_id": u})).collect::<Vec<_>>(),
        "chat_list": [{"chat_id": "oc_team", "name": "Team"}],
        // Read-only fields the SDKs send along are ignored.
        "status": 6, "id": "1", "sent_user_count": 99, "created_at": "", "send_at": null, "department_list": null
    })
}

async fn status(desk: &Desk, token: &str, id: &str) -> i64 {
    ok(desk, token, Method::GET, &format!("/notifications/{id}"), None).await["notification"]["status"]
        .as_i64()
        .unwrap()
}

async fn decide(desk: &Desk, id: &str, decision: &str) -> Response {
    desk.server
        .admin_raw(
            &format!("/helpdesks/{}/notifications/{id}/{decision}", desk.helpdesk_id),
            json!({}),
        )
        .await
}

#[tokio::test]
async fn a_push_job_goes_from_draft_through_approval_to_sent_and_recalled() {
    let desk = Desk::new().await;
    let receiver = Receiver::start(None).await;
    configure(&desk, &receiver).await;
    let r = subscribe(
        &desk,
        "/events/subscribe",
        &[("helpdesk.notification", "notification.approve_v1")],
    )
    .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let agent = desk.user_token(&desk.agent_a).await;

    let created = ok(
        &desk,
        &agent,
        Method::POST,
        "/notifications?user_id_type=open_id",
        Some(job(&[&desk.guest])),
    )
    .await;
    assert_eq!(created["status"], json!(0));
    let id = created["notification_id"].as_str().unwrap().to_owned();
    let got = ok(&desk, &agent, Method::GET, &format!("/notifications/{id}"), None).await;
    let n = &got["notification"];
    assert_eq!(n["id"], json!(id));
    assert_eq!(n["status"], json!(0));
    assert_eq!(n["job_name"], json!("Welcome"));
    assert_eq!(n["create_user"]["user_id"], json!(desk.agent_a));
    assert_eq!(n["create_user"]["name"], json!("Agent A"));
    assert_eq!(n["user_list"][0]["name"], json!("Guest"));
    assert_eq!(n["send_at"], json!(""));
    assert_eq!(n["sent_user_count"], json!(0));
    assert!(n["created_at"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000_000);
    assert!(got["approval_app_link"].as_str().unwrap().contains(&id));

    // Draft: edit and preview; not yet sendable.
    let mut edited = job(&[&desk.guest, &desk.agent_b]);
    edited["job_name"] = json!("Welcome v2");
    ok(
        &desk,
        &agent,
        Method::PATCH,
        &format!("/notifications/{id}"),
        Some(edited),
    )
    .await;
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/preview"),
        None,
    )
    .await;
    let send_at = |ms: i64| json!({"send_at": ms.to_string()});
    let r = call(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(send_at(0)),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);

    // Submit, withdraw (CANCELED), submit again, reject (REJECTED), edit, submit, approve.
    let submitted = ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "onboarding"})),
    )
    .await;
    assert_eq!(submitted, json!({"has_access": true}));
    assert_eq!(status(&desk, &agent, &id).await, 1);
    let r = call(
        &desk,
        &agent,
        Method::PATCH,
        &format!("/notifications/{id}"),
        Some(job(&[&desk.guest])),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/cancel_approve"),
        None,
    )
    .await;
    assert_eq!(status(&desk, &agent, &id).await, 0);
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "again"})),
    )
    .await;
    let r = decide(&desk, &id, "reject").await;
    assert_eq!(
        (r.status, r.json()["data"]["status"].clone()),
        (200, json!(3)),
        "{}",
        r.text
    );
    ok(
        &desk,
        &agent,
        Method::PATCH,
        &format!("/notifications/{id}"),
        Some(job(&[&desk.guest, &desk.agent_b])),
    )
    .await;
    assert_eq!(status(&desk, &agent, &id).await, 0);
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "fixed"})),
    )
    .await;
    let r = decide(&desk, &id, "approve").await;
    assert_eq!(r.json()["data"]["status"], json!(2), "{}", r.text);
    let r = decide(&desk, &id, "approve").await;
    assert_eq!(r.status, 400, "approving twice: {}", r.text);

    let events = receiver.wait_for(3).await;
    // Deliveries run concurrently: one of each, in any order.
    let mut statuses: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["approve_status"].as_str().unwrap())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["APPROVED", "CANCELED", "REJECTED"]);
    for e in &events {
        assert_eq!(e["schema"], json!("2.0"));
        assert_eq!(
            e["header"]["event_type"],
            json!("helpdesk.notification.approve_v1")
        );
        assert_eq!(e["event"]["notification_id"], json!(id));
        assert_eq!(e["event"]["helpdesk_id"], json!(desk.helpdesk_id));
    }

    // Schedule a minute ahead: nothing is sent until the clock gets there.
    let now_ms: i64 = ok(&desk, &agent, Method::GET, &format!("/notifications/{id}"), None).await["notification"]["updated_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(send_at(now_ms + 60_000)),
    )
    .await;
    let n =
        ok(&desk, &agent, Method::GET, &format!("/notifications/{id}"), None).await["notification"].clone();
    assert_eq!(
        (n["status"].clone(), n["send_at"].clone()),
        (json!(4), json!((now_ms + 60_000).to_string()))
    );
    desk.advance(61).await;
    let n =
        ok(&desk, &agent, Method::GET, &format!("/notifications/{id}"), None).await["notification"].clone();
    assert_eq!(n["status"], json!(6), "{n}");
    assert_eq!(
        (n["target_user_count"].clone(), n["sent_user_count"].clone()),
        (json!(2), json!(2))
    );

    // Sent: cancelling needs a recall; recalling ends it.
    let cancel = |recall: bool| json!({"is_recall": recall});
    let r = call(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/cancel_send"),
        Some(cancel(false)),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/cancel_send"),
        Some(cancel(true)),
    )
    .await;
    assert_eq!(status(&desk, &agent, &id).await, 8);
    let r = call(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
}

#[tokio::test]
async fn a_scheduled_job_can_be_cancelled_and_bad_requests_are_refused() {
    let desk = Desk::new().await;
    let agent = desk.user_token(&desk.agent_a).await;
    let id = ok(
        &desk,
        &agent,
        Method::POST,
        "/notifications",
        Some(job(&[&desk.guest])),
    )
    .await["notification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!(decide(&desk, &id, "approve").await.status, 200);
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(json!({"send_at": "99999999999999"})),
    )
    .await;
    // Rescheduling is allowed while scheduled.
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(json!({"send_at": 99999999999998_i64})),
    )
    .await;
    ok(
        &desk,
        &agent,
        Method::POST,
        &format!("/notifications/{id}/cancel_send"),
        Some(json!({"is_recall": false})),
    )
    .await;
    assert_eq!(status(&desk, &agent, &id).await, 7);
    desk.advance(100).await;
    assert_eq!(
        status(&desk, &agent, &id).await,
        7,
        "a cancelled job is never sent"
    );

    let bad = [
        (
            Method::POST,
            "/notifications".to_owned(),
            Some(json!({"job_name": "x", "push_content": "{}", "push_type": 0, "push_scope_type": 2})),
        ),
        (
            Method::POST,
            "/notifications".to_owned(),
            Some(json!({"job_name": "x", "push_content": "{}", "push_type": 0})),
        ),
        (
            Method::POST,
            "/notifications".to_owned(),
            Some(json!({"job_name": "", "push_content": "{}", "push_type": 0, "push_scope_type": 0})),
        ),
        (
            Method::POST,
            "/notifications".to_owned(),
            Some(json!({"job_name": "x", "push_content": "{}", "push_type": "0", "push_scope_type": 0})),
        ),
        (
            Method::POST,
            "/notifications?user_id_type=email".to_owned(),
            Some(job(&[])),
        ),
        (Method::GET, "/notifications/abc".to_owned(), None),
        (
            Method::POST,
            format!("/notifications/{id}/submit_approve"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/notifications/{id}/execute_send"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/notifications/{id}/execute_send"),
            Some(json!({"send_at": "soon"})),
        ),
        (
            Method::POST,
            format!("/notifications/{id}/cancel_send"),
            Some(json!({})),
        ),
        (Method::POST, format!("/notifications/{id}/cancel_approve"), None),
        (
            Method::PATCH,
            format!("/notifications/{id}"),
            Some(job(&[&desk.guest])),
        ),
    ];
    for (method, path, body) in bad {
        let r = call(&desk, &agent, method.clone(), &path, body).await;
        assert_feishu_error(&r, 400, 154000);
    }
    for (method, path) in [
        (Method::GET, "/notifications/123"),
        (Method::POST, "/notifications/123/preview"),
        (Method::POST, "/notifications/123/cancel_approve"),
    ] {
        assert_feishu_error(&call(&desk, &agent, method, path, None).await, 404, 154004);
    }
    // A guest (a user token of a non-agent) may not create or manage pushes: 405/154005.
    let guest = desk.user_token(&desk.guest).await;
    let r = call(
        &desk,
        &guest,
        Method::POST,
        "/notifications",
        Some(job(&[&desk.guest])),
    )
    .await;
    assert_feishu_error(&r, 405, 154005);
    let r = call(
        &desk,
        &guest,
        Method::POST,
        &format!("/notifications/{id}/cancel_send"),
        Some(json!({"is_recall": true})),
    )
    .await;
    assert_feishu_error(&r, 405, 154005);
    assert_eq!(
        status(&desk, &guest, &id).await,
        7,
        "reading is open to every caller"
    );
    assert_eq!(decide(&desk, "123", "approve").await.status, 404);
    assert_eq!(decide(&desk, &id, "maybe").await.status, 404);
    // Another helpdesk's job is not found.
    let other = desk.server.new_tenant(json!({})).await;
    let token = desk.server.tenant_token(&other.app_id, &other.app_secret).await;
    let r = desk
        .server
        .send(
            desk.server
                .http
                .get(
                    desk.server
                        .url(&format!("/open-apis/helpdesk/v1/notifications/{id}")),
                )
                .bearer_auth(token)
                .header("X-Lark-Helpdesk-Authorization", other.helpdesk_header()),
        )
        .await;
    assert_feishu_error(&r, 404, 154004);
}

#[tokio::test]
async fn a_job_scheduled_in_the_past_is_sent_at_once_to_the_whole_directory() {
    let desk = Desk::new().await;
    let id = ok(
        &desk,
        &desk.token,
        Method::POST,
        "/notifications",
        Some(json!({
            "job_name": "All hands", "push_content": "{}", "push_type": 0, "push_scope_type": 0
        })),
    )
    .await["notification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &desk,
        &desk.token,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!(decide(&desk, &id, "approve").await.status, 200);
    // A time already past: sent at once, to everyone in the directory (demo users included).
    ok(
        &desk,
        &desk.token,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(json!({"send_at": "1"})),
    )
    .await;
    let n = ok(
        &desk,
        &desk.token,
        Method::GET,
        &format!("/notifications/{id}"),
        None,
    )
    .await["notification"]
        .clone();
    assert_eq!(n["status"], json!(6));
    assert!(n["sent_user_count"].as_i64().unwrap() >= 3, "{n}");
}

/// Bot messages in the server's database, read behind its back (no API call touches the job).
async fn bot_messages(desk: &Desk) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&desk.server.db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bot_messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn the_server_sends_a_due_job_by_itself() {
    let desk = Desk::new().await;
    let id = ok(
        &desk,
        &desk.token,
        Method::POST,
        "/notifications",
        Some(job(&[&desk.guest])),
    )
    .await["notification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &desk,
        &desk.token,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "r"})),
    )
    .await;
    assert_eq!(decide(&desk, &id, "approve").await.status, 200);
    let now_ms: i64 = ok(
        &desk,
        &desk.token,
        Method::GET,
        &format!("/notifications/{id}"),
        None,
    )
    .await["notification"]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    ok(
        &desk,
        &desk.token,
        Method::POST,
        &format!("/notifications/{id}/execute_send"),
        Some(json!({"send_at": (now_ms + 30_000).to_string()})),
    )
    .await;
    let before = bot_messages(&desk).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        bot_messages(&desk).await,
        before,
        "not due on the controlled clock"
    );
    desk.advance(31).await;
    // The sender runs every second: the guest and the chat get their messages without any call.
    let mut sent = before;
    for _ in 0..50 {
        sent = bot_messages(&desk).await;
        if sent == before + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sent, before + 2);
    assert_eq!(status(&desk, &desk.token, &id).await, 6);
}

#[tokio::test]
async fn the_admin_cli_decides_too() {
    let desk = Desk::new().await;
    let id = ok(
        &desk,
        &desk.token,
        Method::POST,
        "/notifications",
        Some(job(&[&desk.guest])),
    )
    .await["notification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &desk,
        &desk.token,
        Method::POST,
        &format!("/notifications/{id}/submit_approve"),
        Some(json!({"reason": "r"})),
    )
    .await;
    let args = [
        "decide-notification",
        "--helpdesk-id",
        &desk.helpdesk_id,
        "--notification-id",
        &id,
        "--reject",
    ];
    let out = crate::admin::cli(&desk.server.db_url, &args);
    assert_eq!(out["status"], json!(3), "{out}");
    assert_eq!(status(&desk, &desk.token, &id).await, 3);
}
