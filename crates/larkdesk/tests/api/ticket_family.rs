//! The rest of the ticket family: update, list, messages, customized fields, images, FAQ
//! answers, bot messages — golden shapes and behaviour.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::assert_feishu_error;
use crate::lifecycle::Desk;

async fn feishu(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> crate::common::Response {
    let mut request = desk.feishu(method, path);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
    }
    desk.server.send(request).await
}

async fn ok(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = feishu(desk, method.clone(), path, body).await;
    assert_eq!((r.status, r.code()), (200, 0), "{method} {path}: {}", r.text);
    assert_eq!(r.json()["msg"], json!("success"));
    r.json()["data"].clone()
}

/// PUT with an agent's user token, as the SDK metadata says.
async fn put_as(desk: &Desk, token: &str, ticket: &str, body: Value) -> crate::common::Response {
    desk.server
        .send(
            desk.server
                .http
                .put(
                    desk.server
                        .url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}")),
                )
                .bearer_auth(token)
                .header("X-Lark-Helpdesk-Authorization", &desk.header)
                .body(body.to_string()),
        )
        .await
}

#[tokio::test]
async fn update_ticket_with_a_user_token_drives_the_lifecycle() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    let agent_token = desk.user_token(&desk.agent_a).await;
    assert!(agent_token.starts_with("u-"));

    desk.advance(60).await;
    let r = put_as(
        &desk,
        &agent_token,
        &id,
        json!({"status": 4, "comment": "waiting for logs", "tag_names": ["vpn", "vpn", "urgent"]}),
    )
    .await;
    assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
    assert_eq!(r.json()["data"], json!({}));
    desk.advance(300).await;
    put_as(&desk, &agent_token, &id, json!({"status": 2, "solved": 2})).await;
    desk.advance(40).await;
    put_as(&desk, &agent_token, &id, json!({"status": 51})).await;

    let t = desk.ticket(&id).await;
    assert_eq!(t["status"], json!(51));
    assert_eq!(t["solve"], json!(2));
    assert_eq!(t["closed_by"]["id"], json!(desk.agent_a));
    assert_eq!(t["agent_resolution_time"], json!(400));
    assert_eq!(
        t["actual_processing_time"],
        json!(100),
        "the 300 s pending span is excluded"
    );
    assert_eq!(t["comments"]["content"], json!("waiting for logs"));
    assert_eq!(t["comments"]["user_name"], json!("Agent A"));
    assert!(t["comments"]["user_id"].is_i64());
    let tags: Vec<&str> = t["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["vpn", "urgent"]);
    assert!(
        t["tags"][0]["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );

    // Reopening through the API: a non-closing status on a closed ticket.
    put_as(&desk, &agent_token, &id, json!({"status": 2})).await;
    assert_eq!(desk.ticket(&id).await["status"], json!(2));
}

#[tokio::test]
async fn update_ticket_bad_input_is_154000_and_changes_nothing() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    let before = desk.ticket(&id).await;
    for body in [
        json!({}),
        json!({"status": 7}),
        json!({"status": "2"}),
        json!({"unknown_field": 1}),
        json!({"customized_fields": [{"id": "123", "value": "x"}]}),
        json!({"ticket_type": 3}),
        json!({"solved": 5}),
        json!({"tag_names": [""]}),
        json!({"status": 2, "ticket_type": 9}),
    ] {
        let r = feishu(&desk, Method::PUT, &format!("/tickets/{id}"), Some(body.clone())).await;
        assert_feishu_error(&r, 400, 154000);
    }
    let r = feishu(&desk, Method::PUT, "/tickets/1", Some(json!({"status": 2}))).await;
    assert_feishu_error(&r, 404, 154004);
    assert_eq!(
        desk.ticket(&id).await,
        before,
        "a refused update writes nothing, not even part of it"
    );
}

#[tokio::test]
async fn concurrent_updates_never_lose_an_event() {
    let desk = std::sync::Arc::new(Desk::with_args(&["--no-rate-limit"]).await);
    let id = desk.start(true).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let desk = desk.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let r = feishu(
                &desk,
                Method::PUT,
                &format!("/tickets/{id}"),
                Some(json!({"tag_names": [format!("tag{i}")]})),
            )
            .await;
            assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let t = desk.ticket(&id).await;
    assert_eq!(
        t["tags"].as_array().unwrap().len(),
        24,
        "every concurrent tag update is kept"
    );
    let report = desk.server.admin("/rebuild_projections", json!({})).await;
    assert_eq!(report["changed"], json!(0));
}

#[tokio::test]
async fn list_tickets_filters_paging_and_order() {
    let desk = Desk::new().await;
    let demo_tickets = 2;
    let mut ids = Vec::new();
    for i in 0..5 {
        desk.advance(10).await;
        let id = desk.start(true).await;
        if i % 2 == 0 {
            desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
                .await;
            desk.act(&id, "close", json!({"by": "agent", "agent_id": desk.agent_a}))
                .await;
        }
        ids.push(id);
    }
    let all = ok(&desk, Method::GET, "/tickets", None).await;
    assert_eq!(all["total"], json!(5 + demo_tickets));
    assert!(all["total"].is_i64());
    let listed: Vec<&str> = all["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(&listed[..5], &newest_first[..], "newest first");

    let closed = ok(&desk, Method::GET, "/tickets?status_list=51&status_list=50", None).await;
    assert_eq!(
        closed["total"],
        json!(4),
        "3 closed here + the demo's closed ticket"
    );
    let by_agent = ok(
        &desk,
        Method::GET,
        &format!("/tickets?agent_id={}", desk.agent_a),
        None,
    )
    .await;
    assert_eq!(by_agent["total"], json!(3));
    let by_closer = ok(
        &desk,
        Method::GET,
        &format!("/tickets?closed_by_id={}&type=2", desk.agent_a),
        None,
    )
    .await;
    assert_eq!(by_closer["total"], json!(3));
    let by_guest = ok(
        &desk,
        Method::GET,
        &format!("/tickets?guest_id={}", desk.guest),
        None,
    )
    .await;
    assert_eq!(by_guest["total"], json!(5));
    let by_name = ok(&desk, Method::GET, "/tickets?guest_name=Guest", None).await;
    assert_eq!(by_name["total"], json!(5));
    let one = ok(
        &desk,
        Method::GET,
        &format!("/tickets?ticket_id={}", ids[1]),
        None,
    )
    .await;
    assert_eq!(one["tickets"][0]["ticket_id"], json!(ids[1]));

    let page2 = ok(&desk, Method::GET, "/tickets?page=2&page_size=2", None).await;
    let page2_ids: Vec<&str> = page2["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(page2_ids, listed[2..4]);
    assert_eq!(page2["total"], json!(7));

    let created = desk.ticket(&ids[3]).await["created_at"].as_i64().unwrap();
    let window = ok(
        &desk,
        Method::GET,
        &format!(
            "/tickets?create_time_start={created}&create_time_end={}",
            created + 10_000
        ),
        None,
    )
    .await;
    assert_eq!(
        window["total"],
        json!(2),
        "inclusive on both ends: tickets 3 and 4"
    );

    for bad in [
        "/tickets?page_size=201",
        "/tickets?page=0",
        "/tickets?create_time_start=1",
        "/tickets?status_list=x",
        "/tickets?page=51&page_size=200",
        "/tickets?ticket_id=abc",
    ] {
        assert_feishu_error(&feishu(&desk, Method::GET, bad, None).await, 400, 154000);
    }

    // Totals are remembered per filter, and any write makes the next list count again.
    let closed_list = "/tickets?status_list=51&status_list=50&page_size=1";
    assert_eq!(ok(&desk, Method::GET, closed_list, None).await["total"], json!(4));
    assert_eq!(ok(&desk, Method::GET, closed_list, None).await["total"], json!(4));
    desk.act(&ids[1], "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.act(&ids[1], "close", json!({"by": "agent", "agent_id": desk.agent_a}))
        .await;
    let after = ok(&desk, Method::GET, closed_list, None).await;
    assert_eq!(after["total"], json!(5), "the close is counted at once");
    assert_eq!(after["tickets"][0]["ticket_id"], json!(ids[4]));

    // The unfiltered total is kept across writes that add no ticket (it depends on nothing
    // else), and a new ticket is counted at once.
    let everything = "/tickets?page_size=1";
    assert_eq!(ok(&desk, Method::GET, everything, None).await["total"], json!(7));
    desk.act(&ids[3], "guest_message", json!({"content": "still there?"}))
        .await;
    assert_eq!(ok(&desk, Method::GET, everything, None).await["total"], json!(7));
    ids.push(desk.start(true).await);
    assert_eq!(
        ok(&desk, Method::GET, everything, None).await["total"],
        json!(8),
        "the new ticket is counted at once"
    );

    // Rendered pages are remembered too, and any write renders the next one again.
    let all_list = "/tickets?page_size=50";
    let status_in = |page: &Value, id: &str| {
        page["tickets"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["ticket_id"] == json!(id)))
            .map(|t| t["status"].clone())
    };
    let before = ok(&desk, Method::GET, all_list, None).await;
    assert_eq!(
        ok(&desk, Method::GET, all_list, None).await,
        before,
        "a repeated page"
    );
    let open_status = status_in(&before, &ids[3]).expect("ticket 3 is listed");
    desk.act(&ids[3], "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.act(&ids[3], "close", json!({"by": "agent", "agent_id": desk.agent_a}))
        .await;
    let closed_status = status_in(&ok(&desk, Method::GET, all_list, None).await, &ids[3]);
    assert_ne!(
        closed_status,
        Some(open_status),
        "the page shows the close at once"
    );
    assert_eq!(
        closed_status,
        Some(ok(&desk, Method::GET, &format!("/tickets/{}", ids[3]), None).await["ticket"]["status"].clone()),
        "the page and the ticket agree"
    );
}

#[tokio::test]
async fn ticket_messages_create_and_list() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.advance(5).await;
    desk.act(&id, "guest_message", json!({"content": "my VPN is down"}))
        .await;
    desk.advance(5).await;
    let sent = ok(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/messages"),
        Some(json!({"msg_type": "text", "content": "{\"text\":\"we are on it\"}"})),
    )
    .await;
    let message_id = sent["message_id"].as_str().unwrap().to_owned();
    assert!(message_id.starts_with("om_"));
    // The doc's example sends content as an object: accepted too.
    ok(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/messages"),
        Some(json!({"msg_type": "post", "content": {"title": "t", "content": []}})),
    )
    .await;
    // An agent's message through a user token counts as the agent's first response.
    let agent_token = desk.user_token(&desk.agent_a).await;
    desk.advance(5).await;
    let r = desk
        .server
        .send(
            desk.server
                .http
                .post(
                    desk.server
                        .url(&format!("/open-apis/helpdesk/v1/tickets/{id}/messages")),
                )
                .bearer_auth(&agent_token)
                .header("X-Lark-Helpdesk-Authorization", &desk.header)
                .body(json!({"msg_type": "text", "content": "{\"text\":\"hi\"}"}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    assert_eq!(desk.ticket(&id).await["agent_first_response_duration"], json!(15));

    let listed = ok(
        &desk,
        Method::GET,
        &format!("/tickets/{id}/messages?page_size=10"),
        None,
    )
    .await;
    assert_eq!(listed["total"], json!(4));
    let messages = listed["messages"].as_array().unwrap();
    let first = &messages[0];
    for key in [
        "id",
        "message_id",
        "message_type",
        "content",
        "user_name",
        "avatar_url",
        "user_id",
    ] {
        assert!(first[key].is_string(), "{key} is a string: {first}");
    }
    assert!(first["created_at"].is_i64(), "created_at is an integer (ms)");
    assert_eq!(first["user_name"], json!("Guest"));
    assert_eq!(messages[1]["message_id"], json!(message_id));
    assert_eq!(messages[3]["user_name"], json!("Agent A"));
    // Issue 22 item 13: one content shape, whether the message came through the admin emulator
    // or the API; the bot's messages carry no user id.
    let contents: Vec<Value> = messages
        .iter()
        .map(|m| serde_json::from_str(m["content"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        contents[0],
        json!({"msg_type": "text", "content": "my VPN is down"})
    );
    assert_eq!(
        contents[1],
        json!({"msg_type": "text", "content": "we are on it"})
    );
    assert_eq!(
        contents[2],
        json!({"msg_type": "post", "content": "t", "image_keys": []})
    );
    assert_eq!(contents[3], json!({"msg_type": "text", "content": "hi"}));
    assert_eq!(messages[1]["user_id"], json!(""));
    assert_eq!(messages[2]["user_id"], json!(""));

    // time_start/time_end in seconds, inclusive.
    let guest_ms = first["created_at"].as_i64().unwrap();
    let window = ok(
        &desk,
        Method::GET,
        &format!(
            "/tickets/{id}/messages?time_start={}&time_end={}",
            guest_ms / 1000,
            guest_ms / 1000
        ),
        None,
    )
    .await;
    assert_eq!(window["total"], json!(1));
    let page = ok(
        &desk,
        Method::GET,
        &format!("/tickets/{id}/messages?page=2&page_size=3"),
        None,
    )
    .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);

    for body in [
        json!({"msg_type": "image", "content": "x"}),
        json!({"msg_type": "text"}),
        json!({"content": "x"}),
    ] {
        let r = feishu(
            &desk,
            Method::POST,
            &format!("/tickets/{id}/messages"),
            Some(body),
        )
        .await;
        assert_feishu_error(&r, 400, 154000);
    }
    desk.act(&id, "close", json!({"by": "user"})).await;
    let r = feishu(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/messages"),
        Some(json!({"msg_type": "text", "content": "late"})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
}

#[tokio::test]
async fn ticket_images_return_the_stored_bytes() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
    let jpeg = [0xff, 0xd8, 0xff, 9, 9];
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let sent = desk
        .act(
            &id,
            "guest_message",
            json!({"msg_type": "image", "images": [b64(&png), b64(&jpeg)]}),
        )
        .await;
    let msg = sent["message_id"].as_str().unwrap();
    for (index, bytes, ctype) in [(0, &png[..], "image/png"), (1, &jpeg[..], "image/jpeg")] {
        let r = desk
            .server
            .send(desk.feishu(
                Method::GET,
                &format!("/ticket_images?ticket_id={id}&msg_id={msg}&index={index}"),
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(ctype));
        assert!(r.header("content-disposition").unwrap().starts_with("attachment"));
        let raw = desk
            .server
            .http
            .get(desk.server.url(&format!(
                "/open-apis/helpdesk/v1/ticket_images?ticket_id={id}&msg_id={msg}&index={index}"
            )))
            .bearer_auth(&desk.token)
            .header("X-Lark-Helpdesk-Authorization", &desk.header)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&raw[..], bytes);
    }
    for (query, status, code) in [
        // Issue 22 item 14: an index past the message's images is a bad request (the doc).
        (format!("ticket_id={id}&msg_id={msg}&index=5"), 400, 154000),
        (format!("ticket_id={id}&msg_id=om_0000&index=0"), 404, 154004),
        (format!("ticket_id=1&msg_id={msg}"), 404, 154004),
        (format!("ticket_id={id}&msg_id={msg}&index=-1"), 400, 154000),
        (format!("ticket_id={id}"), 400, 154000),
        (format!("msg_id={msg}"), 400, 154000),
        (format!("ticket_id={id}&msg_id={msg}&index=x"), 400, 154000),
    ] {
        let r = desk
            .server
            .send(desk.feishu(Method::GET, &format!("/ticket_images?{query}")))
            .await;
        assert_feishu_error(&r, status, code);
    }
}

#[tokio::test]
async fn answer_user_query_answers_a_guest_message_in_bot_stage() {
    let desk = Desk::new().await;
    let id = desk.start(false).await;
    let sent = desk
        .act(
            &id,
            "guest_message",
            json!({"content": "how do I reset my password"}),
        )
        .await;
    let event_id = sent["event_id"].as_str().unwrap();
    // Answers name FAQs of the helpdesk.
    let faq_id =
        crate::faqs::create(&desk, json!({"question": "Reset password", "answer": "Settings"})).await;
    let r = feishu(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/answer_user_query"),
        Some(json!({"event_id": event_id, "faqs": [{"id": "6936004780707807251", "score": 1.1}]})),
    )
    .await;
    assert_feishu_error(&r, 404, 154004);
    let data = ok(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/answer_user_query"),
        Some(json!({"event_id": event_id, "faqs": [{"id": faq_id, "score": 1.1}]})),
    )
    .await;
    assert_eq!(data, json!({}));
    let listed = ok(&desk, Method::GET, &format!("/tickets/{id}/messages"), None).await;
    assert_eq!(listed["total"], json!(2));
    // Issue 22 item 13: the FAQ answer is a text message in the one content shape, from the bot.
    let answer = &listed["messages"][1];
    assert_eq!(answer["message_type"], json!("text"));
    let content: Value = serde_json::from_str(answer["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        content,
        json!({"msg_type": "text", "content": "Reset password"}),
        "{faq_id}"
    );
    assert_eq!(answer["user_id"], json!(""));

    let r = feishu(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/answer_user_query"),
        Some(json!({"faqs": []})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    let r = feishu(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/answer_user_query"),
        Some(json!({"event_id": "nope"})),
    )
    .await;
    assert_feishu_error(&r, 404, 154004);
    // Once a human took over, the bot may no longer answer.
    desk.act(&id, "request_human", json!({})).await;
    let r = feishu(
        &desk,
        Method::POST,
        &format!("/tickets/{id}/answer_user_query"),
        Some(json!({"event_id": event_id})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
}

#[tokio::test]
async fn bot_message_to_a_user() {
    let desk = Desk::new().await;
    let data = ok(&desk, Method::POST, "/message?user_id_type=open_id", Some(json!({"msg_type": "text", "content": "{\"text\":\"hi\"}", "receiver_id": desk.guest, "receive_type": "user"}))).await;
    assert!(data["message_id"].as_str().unwrap().starts_with("om_"));
    for (query, body, status, code) in [
        (
            "",
            json!({"msg_type": "text", "content": "x", "receiver_id": "ou_nobody"}),
            404,
            154004,
        ),
        (
            "",
            json!({"msg_type": "video", "content": "x", "receiver_id": desk.guest}),
            400,
            154000,
        ),
        (
            "",
            json!({"msg_type": "text", "content": "x", "receiver_id": desk.guest, "receive_type": "group"}),
            400,
            154000,
        ),
        (
            "?user_id_type=union_id",
            json!({"msg_type": "text", "content": "x", "receiver_id": desk.guest}),
            400,
            154000,
        ),
        (
            "",
            json!({"msg_type": "text", "receiver_id": desk.guest}),
            400,
            154000,
        ),
    ] {
        let r = feishu(&desk, Method::POST, &format!("/message{query}"), Some(body)).await;
        assert_feishu_error(&r, status, code);
    }
    // Issue 22 item 15: to the service group (`chat`, the default) only while the user has no
    // active ticket; `user` (p2p) always.
    let chat = json!({"msg_type": "text", "content": "{\"text\":\"hi\"}", "receiver_id": desk.guest, "receive_type": "chat"});
    ok(&desk, Method::POST, "/message", Some(chat.clone())).await;
    let id = desk.start(true).await;
    for body in [
        chat.clone(),
        json!({"msg_type": "text", "content": "{\"text\":\"hi\"}", "receiver_id": desk.guest}),
    ] {
        let r = feishu(&desk, Method::POST, "/message", Some(body)).await;
        assert_feishu_error(&r, 405, 154005);
    }
    let user = json!({"msg_type": "text", "content": "{\"text\":\"hi\"}", "receiver_id": desk.guest, "receive_type": "user"});
    ok(&desk, Method::POST, "/message", Some(user)).await;
    desk.act(&id, "close", json!({"by": "user"})).await;
    ok(&desk, Method::POST, "/message", Some(chat)).await;
}

#[tokio::test]
async fn customized_fields_crud_and_use_in_tickets() {
    let desk = Desk::new().await;
    let field = |key: &str, visible: bool| {
        json!({"key_name": key, "display_name": format!("Field {key}"), "position": "3", "field_type": "dropdown",
               "description": "d", "visible": visible, "editable": true, "required": false,
               "dropdown_options": {"children": [{"tag": "a", "display_name": "Option A"}]}})
    };
    for (i, key) in ["alpha", "beta", "gamma"].iter().enumerate() {
        let data = ok(
            &desk,
            Method::POST,
            "/ticket_customized_fields",
            Some(field(key, i != 1)),
        )
        .await;
        assert_eq!(data, json!({}));
    }
    let r = feishu(
        &desk,
        Method::POST,
        "/ticket_customized_fields",
        Some(field("alpha", true)),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    let r = feishu(
        &desk,
        Method::POST,
        "/ticket_customized_fields",
        Some(json!({"key_name": "x"})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);

    // page_token paging with a JSON body on GET.
    let first = ok(
        &desk,
        Method::GET,
        "/ticket_customized_fields?page_size=2",
        Some(json!({})),
    )
    .await;
    assert_eq!(first["has_more"], json!(true));
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let token = first["next_page_token"].as_str().unwrap();
    let second = ok(
        &desk,
        Method::GET,
        &format!("/ticket_customized_fields?page_size=2&page_token={token}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(second["has_more"], json!(false));
    assert!(
        second.get("next_page_token").is_none(),
        "no token on the last page"
    );
    let visible = ok(
        &desk,
        Method::GET,
        "/ticket_customized_fields",
        Some(json!({"visible": true})),
    )
    .await;
    assert_eq!(visible["items"].as_array().unwrap().len(), 2);

    let item = first["items"][0].clone();
    let id = item["ticket_customized_field_id"].as_str().unwrap().to_owned();
    assert!(item["position"].is_string() && item["created_at"].is_string() && item["updated_at"].is_string());
    assert!(
        item["created_at"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000_000,
        "string ms"
    );
    assert!(item["visible"].is_boolean() && item["created_by"].is_object());
    assert_eq!(
        item["dropdown_options"]["children"][0]["display_name"],
        json!("Option A")
    );

    let got = ok(
        &desk,
        Method::GET,
        &format!("/ticket_customized_fields/{id}"),
        None,
    )
    .await;
    assert_eq!(got["key_name"], json!("alpha"), "the field is flat in data");
    ok(
        &desk,
        Method::PATCH,
        &format!("/ticket_customized_fields/{id}"),
        Some(json!({"display_name": "Renamed", "position": "1"})),
    )
    .await;
    let got = ok(
        &desk,
        Method::GET,
        &format!("/ticket_customized_fields/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (got["display_name"].clone(), got["position"].clone()),
        (json!("Renamed"), json!("1"))
    );

    let all = ok(&desk, Method::GET, "/customized_fields?visible_only=True", None).await;
    assert_eq!(all["ticket_customized_fields"].as_array().unwrap().len(), 2);
    assert_eq!(all["user_customized_fields"], json!([]));

    // Setting a value on a ticket shows the display item with an integer position.
    let ticket = desk.start(true).await;
    ok(
        &desk,
        Method::PUT,
        &format!("/tickets/{ticket}"),
        Some(json!({"customized_fields": [{"id": id, "value": "Option A", "key_name": "alpha"}]})),
    )
    .await;
    let t = desk.ticket(&ticket).await;
    assert_eq!(
        t["customized_fields"],
        json!([{"id": id, "value": "Option A", "key_name": "alpha", "display_name": "Renamed", "position": 1, "required": false, "editable": true}])
    );

    ok(
        &desk,
        Method::DELETE,
        &format!("/ticket_customized_fields/{id}"),
        None,
    )
    .await;
    assert_feishu_error(
        &feishu(
            &desk,
            Method::GET,
            &format!("/ticket_customized_fields/{id}"),
            None,
        )
        .await,
        404,
        154004,
    );
    assert_feishu_error(
        &feishu(
            &desk,
            Method::DELETE,
            &format!("/ticket_customized_fields/{id}"),
            None,
        )
        .await,
        404,
        154004,
    );
    assert_feishu_error(
        &feishu(&desk, Method::GET, "/ticket_customized_fields/abc", None).await,
        400,
        154000,
    );
    assert_feishu_error(
        &feishu(
            &desk,
            Method::GET,
            "/ticket_customized_fields?page_size=101",
            None,
        )
        .await,
        400,
        154000,
    );
}

#[tokio::test]
async fn start_service_validation() {
    let desk = Desk::new().await;
    for body in [
        json!({}),
        json!({"open_id": "ou_unknown"}),
        json!({"open_id": desk.guest, "appointed_agents": [desk.agent_a]}),
        json!({"open_id": desk.guest, "human_service": true, "appointed_agents": [desk.guest]}),
        json!({"open_id": desk.guest, "customized_info": "x".repeat(1025)}),
    ] {
        let r = feishu(&desk, Method::POST, "/start_service", Some(body)).await;
        assert_feishu_error(&r, 400, 154000);
    }
    let data = ok(
        &desk,
        Method::POST,
        "/start_service",
        Some(json!({"open_id": desk.guest, "human_service": true, "appointed_agents": [desk.agent_a]})),
    )
    .await;
    let t = desk.ticket(data["ticket_id"].as_str().unwrap()).await;
    assert_eq!(t["agents"][0]["id"], json!(desk.agent_a));
    assert_eq!(
        (
            t["status"].clone(),
            t["ticket_type"].clone(),
            t["channel"].clone()
        ),
        (json!(2), json!(2), json!(9))
    );
}

/// One app posting large messages to one ticket as fast as it can must not make other writes
/// fail: on SQLite every write waits its turn for the one writer connection instead of giving up
/// in SQLite's busy handler ("database is locked" after 5 s), and a change costs the same however
/// long its ticket's log has grown.
#[tokio::test]
async fn a_heavy_ticket_does_not_fail_other_writes() {
    let desk = std::sync::Arc::new(Desk::with_args(&["--no-rate-limit"]).await);
    let heavy = desk.start(true).await;
    let other = desk.start(true).await;
    // As large as a text message may be (150 KiB of content).
    let content = json!({ "text": "x".repeat(150_000) });
    let mut tasks = Vec::new();
    for i in 0..80 {
        let (desk, content) = (desk.clone(), content.clone());
        let (heavy, other) = (heavy.clone(), other.clone());
        tasks.push(tokio::spawn(async move {
            let r = if i % 4 == 3 {
                let body = json!({"tag_names": [format!("tag{i}")]});
                feishu(&desk, Method::PUT, &format!("/tickets/{other}"), Some(body)).await
            } else {
                let body = json!({"msg_type": "text", "content": content});
                feishu(
                    &desk,
                    Method::POST,
                    &format!("/tickets/{heavy}/messages"),
                    Some(body),
                )
                .await
            };
            assert_eq!((r.status, r.code()), (200, 0), "write {i}: {}", r.text);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let tags = desk.ticket(&other).await["tags"].as_array().unwrap().len();
    assert_eq!(tags, 20, "every write to the other ticket is kept");
    let messages = ok(
        &desk,
        Method::GET,
        &format!("/tickets/{heavy}/messages?page_size=1"),
        None,
    )
    .await;
    assert_eq!(messages["total"], json!(60));
    let report = desk.server.admin("/rebuild_projections", json!({})).await;
    assert_eq!(report["changed"], json!(0));
}

/// kill -9 in the middle of a write load loses no write the server acknowledged: every message a
/// client got `code 0` for is there after a restart on the same database (SQLite commits into
/// its write-ahead log before answering, PostgreSQL commits durably).
#[tokio::test]
async fn a_kill_during_writes_loses_no_acknowledged_write() {
    let mut desk = Desk::with_args(&["--no-rate-limit"]).await;
    let mut tickets = Vec::new();
    for _ in 0..4 {
        tickets.push(desk.start(true).await);
    }
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for i in 0..16 {
        let ticket = tickets[i % tickets.len()].clone();
        let request = desk
            .feishu(Method::POST, &format!("/tickets/{ticket}/messages"))
            .header("content-type", "application/json; charset=utf-8");
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let body =
                    json!({"msg_type": "text", "content": {"text": format!("writer {i}, message {n}")}});
                let Some(request) = request.try_clone() else { break };
                let Ok(response) = request.body(body.to_string()).send().await else {
                    break; // the server is gone
                };
                let Ok(answer) = response.json::<Value>().await else {
                    break;
                };
                if answer["code"] == json!(0) {
                    let id = answer["data"]["message_id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push((ticket.clone(), id));
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    desk.server.kill().await;
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 16,
        "the load ran: {} writes",
        acknowledged.len()
    );

    let again = crate::common::TestServer::spawn_on(&desk.server.db_url, &["--no-rate-limit"]).await;
    let mut stored = std::collections::HashSet::new();
    for ticket in &tickets {
        for page in 1.. {
            let r = again
                .send(
                    again
                        .http
                        .get(again.url(&format!(
                            "/open-apis/helpdesk/v1/tickets/{ticket}/messages?page={page}&page_size=200"
                        )))
                        .bearer_auth(&desk.token)
                        .header("X-Lark-Helpdesk-Authorization", &desk.header),
                )
                .await;
            assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
            let messages = r.json()["data"]["messages"].as_array().unwrap().clone();
            for m in &messages {
                stored.insert((ticket.clone(), m["message_id"].as_str().unwrap().to_owned()));
            }
            if messages.len() < 200 {
                break;
            }
        }
    }
    let lost: Vec<_> = acknowledged.iter().filter(|m| !stored.contains(*m)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let report = again.admin("/rebuild_projections", json!({})).await;
    assert_eq!(
        report["changed"],
        json!(0),
        "projections agree with the logs after the kill"
    );
}
