//! Size limits: message content (Feishu's IM limits) and the size of a page of messages
//! (issue 22, Medium 7).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Response, assert_admin_error, assert_feishu_error};
use crate::lifecycle::Desk;

const TEXT_MAX: usize = 150 * 1024;
const RICH_MAX: usize = 30 * 1024;

async fn call(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = desk.feishu(method, path);
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    desk.server.send(request).await
}

#[tokio::test]
async fn message_content_is_limited_by_type_on_every_path() {
    let desk = Desk::with_args(&["--no-rate-limit"]).await;
    let ticket = desk.start(true).await;
    let post = |msg_type: &'static str, len: usize| {
        let path = format!("/tickets/{ticket}/messages");
        let desk = &desk;
        async move {
            call(
                desk,
                Method::POST,
                &path,
                Some(json!({"msg_type": msg_type, "content": "x".repeat(len)})),
            )
            .await
        }
    };
    assert_eq!(post("text", TEXT_MAX).await.status, 200);
    assert_feishu_error(&post("text", TEXT_MAX + 1).await, 400, 154000);
    assert_eq!(post("post", RICH_MAX).await.status, 200);
    assert_feishu_error(&post("post", RICH_MAX + 1).await, 400, 154000);

    let bot = |msg_type: &'static str, len: usize| {
        let desk = &desk;
        async move {
            call(
                desk,
                Method::POST,
                "/message",
                Some(json!({"msg_type": msg_type, "content": "x".repeat(len), "receiver_id": desk.guest, "receive_type": "user"})),
            )
            .await
        }
    };
    assert_eq!(bot("text", TEXT_MAX).await.status, 200);
    assert_feishu_error(&bot("text", TEXT_MAX + 1).await, 400, 154000);
    assert_feishu_error(&bot("interactive", RICH_MAX + 1).await, 400, 154000);

    // The admin emulator's messages too.
    let r = desk
        .act_raw(
            &ticket,
            "guest_message",
            json!({"content": "x".repeat(TEXT_MAX + 1)}),
        )
        .await;
    assert_admin_error(&r, 400, 154000);
}

#[tokio::test]
async fn a_page_of_messages_is_bounded_in_size_and_never_cut_short() {
    let desk = Desk::with_args(&["--no-rate-limit"]).await;
    let ticket = desk.start(true).await;
    // 60 messages at the text limit: 9 MiB of content, over the 8 MiB a page may hold.
    for _ in 0..60 {
        let r = call(
            &desk,
            Method::POST,
            &format!("/tickets/{ticket}/messages"),
            Some(json!({"msg_type": "text", "content": "y".repeat(TEXT_MAX)})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let list = |page_size: usize| {
        let desk = &desk;
        let path = format!("/tickets/{ticket}/messages?page=1&page_size={page_size}");
        async move { call(desk, Method::GET, &path, None).await }
    };
    let r = list(200).await;
    assert_feishu_error(&r, 400, 154000);
    assert!(r.text.contains("page_size"), "{}", r.text);
    // Smaller pages are served whole.
    let r = list(20).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let data = r.json()["data"].clone();
    assert_eq!(data["messages"].as_array().unwrap().len(), 20);
    assert!(data["total"].as_i64().unwrap() >= 60, "{data}");
}

#[tokio::test]
async fn huge_page_numbers_are_a_feishu_error_not_an_overflow() {
    let desk = Desk::with_args(&["--no-rate-limit"]).await;
    let ticket = desk.start(true).await;
    // (2^62 - 1) * 2 fits in an i64; adding the page size to it does not.
    for page_size in [2, 20, 200] {
        let r = call(
            &desk,
            Method::GET,
            &format!("/tickets?page=4611686018427387904&page_size={page_size}"),
            None,
        )
        .await;
        assert_feishu_error(&r, 400, 154000);
    }
    for page in [
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
    ] {
        let r = call(
            &desk,
            Method::GET,
            &format!("/tickets?page={page}&page_size=1"),
            None,
        )
        .await;
        assert_feishu_error(&r, 400, 154000);
    }
    // Messages: a page past the end is empty.
    let r = call(
        &desk,
        Method::GET,
        &format!("/tickets/{ticket}/messages?page=4611686018427387904&page_size=2"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["messages"], json!([]));
}

#[tokio::test]
async fn long_indexed_strings_are_refused_alike_on_both_backends() {
    // On PostgreSQL these were internal errors (an index row is at most ~2.7 KB); on SQLite
    // they were stored. Now both refuse them with 154000 and keep values at the limit.
    let desk = Desk::with_args(&["--no-rate-limit"]).await;
    // Characters that do not compress, as PostgreSQL would otherwise shrink them under its limit.
    let noise = |len: usize| -> String {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect()
    };
    let field = |key: String| json!({"key_name": key, "display_name": "K", "position": "1", "field_type": "string", "description": "", "visible": true, "editable": true, "required": false});
    let r = call(
        &desk,
        Method::POST,
        "/ticket_customized_fields",
        Some(field(noise(3000))),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    let r = call(
        &desk,
        Method::POST,
        "/ticket_customized_fields",
        Some(field("k".repeat(255))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let tenant_key = desk.tenant_key.clone();
    let user = |id: String| json!({"tenant_key": tenant_key, "id": id, "name": "U"});
    let r = desk.server.admin_raw("/users", user(noise(1024 * 1024))).await;
    assert_admin_error(&r, 400, 154000);
    let r = desk.server.admin_raw("/users", user("u".repeat(256))).await;
    assert_admin_error(&r, 400, 154000);
    let r = desk.server.admin_raw("/users", user("u".repeat(255))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = call(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": noise(3000), "agent_ids": []})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
}
