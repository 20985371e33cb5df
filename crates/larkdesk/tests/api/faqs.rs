//! FAQs: CRUD, list paging and filters, ranked search (Chinese and English), images, and every
//! documented error.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Response, assert_feishu_error};
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

/// Create a FAQ as the tenant app; returns its id.
pub(crate) async fn create(desk: &Desk, faq: Value) -> String {
    let data = ok(
        desk,
        &desk.token,
        Method::POST,
        "/faqs",
        Some(json!({ "faq": faq })),
    )
    .await;
    data["faq"]["faq_id"].as_str().unwrap().to_owned()
}

/// Every page of a listing (`path` has a query already), following page tokens; checks the
/// paging fields on each page.
async fn all_pages(desk: &Desk, path: &str, size: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..50 {
        let mut url = format!("{path}&page_size={size}");
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let data = ok(desk, &desk.token, Method::GET, &url, None).await;
        let page = data["items"].as_array().unwrap().clone();
        assert!(page.len() <= size);
        items.extend(page);
        if data["has_more"] == json!(true) {
            token = Some(
                data["page_token"]
                    .as_str()
                    .expect("page_token while has_more")
                    .to_owned(),
            );
        } else {
            assert!(
                data.get("page_token").is_none(),
                "no page_token on the last page: {data}"
            );
            return items;
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn faqs_crud_list_and_errors() {
    let desk = Desk::new().await;
    let agent = desk.user_token(&desk.agent_a).await;
    let guest = desk.user_token(&desk.guest).await;

    // Create as an agent, answer_richtext as JSON text (the SDKs' create shape).
    let created = ok(
        &desk,
        &agent,
        Method::POST,
        "/faqs",
        Some(json!({"faq": {
            "category_id": "6948728206392295444",
            "question": "  How do I reset my password? ",
            "answer_richtext": "[{\"content\":\"Open settings\",\"type\":\"text\"},{\"type\":\"line break\"},{\"content\":\"https://x\",\"type\":\"hyperlink\"}]",
            "tags": ["reset", "reset", " password "]
        }})),
    )
    .await["faq"]
        .clone();
    let id = created["faq_id"].as_str().unwrap().to_owned();
    assert_eq!(created["id"], json!(id));
    assert_eq!(created["question"], json!("How do I reset my password?"));
    assert_eq!(created["answer"], json!("Open settings\nhttps://x"));
    assert_eq!(
        created["answer_richtext"][1],
        json!({"content": "", "type": "line break"})
    );
    assert_eq!(created["tags"], json!(["reset", "password"]));
    assert_eq!(created["helpdesk_id"], json!(desk.helpdesk_id));
    assert_eq!(
        created["categories"][0]["category_id"],
        json!("6948728206392295444")
    );
    assert_eq!(created["create_user"]["name"], json!("Agent A"));
    assert_eq!(created["update_user"]["id"], json!(desk.agent_a));
    let now_secs = created["create_time"].as_i64().unwrap();
    assert!(
        (1_600_000_000..10_000_000_000).contains(&now_secs),
        "seconds: {now_secs}"
    );
    assert_eq!(created["update_time"], json!(now_secs));

    let got = ok(&desk, &desk.token, Method::GET, &format!("/faqs/{id}"), None).await;
    assert_eq!(got["faq"], created);

    // PATCH with an array (PY/Node shape), later in time.
    desk.advance(5).await;
    ok(
        &desk,
        &agent,
        Method::PATCH,
        &format!("/faqs/{id}"),
        Some(json!({"faq": {"question": "Reset my password", "answer_richtext": [{"content": "Use the portal", "type": "text"}]}})),
    )
    .await;
    let got = ok(&desk, &desk.token, Method::GET, &format!("/faqs/{id}"), None).await["faq"].clone();
    assert_eq!(got["question"], json!("Reset my password"));
    assert_eq!(got["answer"], json!("Use the portal"));
    assert_eq!(got["tags"], json!(["reset", "password"]), "tags kept");
    assert_eq!(got["categories"], created["categories"], "category kept");
    assert_eq!(got["update_time"], json!(now_secs + 5));
    assert_eq!(got["create_time"], json!(now_secs));
    // The Go SDK's patch shape: answer_richtext as JSON text.
    ok(
        &desk,
        &desk.token,
        Method::PATCH,
        &format!("/faqs/{id}"),
        Some(json!({"faq": {"answer": "plain", "answer_richtext": "[{\"content\":\"rich\",\"type\":\"text\"}]"}})),
    )
    .await;
    let got = ok(&desk, &desk.token, Method::GET, &format!("/faqs/{id}"), None).await["faq"].clone();
    assert_eq!(
        (
            got["answer"].clone(),
            got["answer_richtext"][0]["content"].clone()
        ),
        (json!("plain"), json!("rich"))
    );

    // Errors.
    let bad = |body: Value| {
        let desk = &desk;
        async move { call(desk, &desk.token, Method::POST, "/faqs", Some(body)).await }
    };
    for body in [
        json!({}),
        json!({"faq": {"answer": "a"}}),
        json!({"faq": {"question": "q"}}),
        json!({"faq": {"question": "q", "answer_richtext": "not json"}}),
        json!({"faq": {"question": "q", "answer_richtext": [{"type": "video", "content": "x"}]}}),
        json!({"faq": {"question": "q", "answer": "a", "category_id": "abc"}}),
        json!({"faq": {"question": 5, "answer": "a"}}),
    ] {
        assert_feishu_error(&bad(body.clone()).await, 400, 154000);
    }
    let r = call(
        &desk,
        &guest,
        Method::POST,
        "/faqs",
        Some(json!({"faq": {"question": "q", "answer": "a"}})),
    )
    .await;
    assert_feishu_error(&r, 403, 154003);
    let r = call(&desk, &guest, Method::DELETE, &format!("/faqs/{id}"), None).await;
    assert_feishu_error(&r, 403, 154003);
    for path in ["/faqs/123", "/faqs/123/image/img_x"] {
        assert_feishu_error(
            &call(&desk, &desk.token, Method::GET, path, None).await,
            404,
            154004,
        );
    }
    assert_feishu_error(
        &call(&desk, &desk.token, Method::GET, "/faqs/abc", None).await,
        400,
        154000,
    );
    let r = call(
        &desk,
        &desk.token,
        Method::PATCH,
        "/faqs/123",
        Some(json!({"faq": {"question": "q"}})),
    )
    .await;
    assert_feishu_error(&r, 404, 154004);
    let r = call(
        &desk,
        &desk.token,
        Method::PATCH,
        &format!("/faqs/{id}"),
        Some(json!({"faq": {"question": " "}})),
    )
    .await;
    assert_feishu_error(&r, 400, 154000);
    for query in [
        "status=3",
        "page_size=0",
        "page_size=101",
        "page_token=abc",
        "page_token=-1",
    ] {
        let r = call(&desk, &desk.token, Method::GET, &format!("/faqs?{query}"), None).await;
        assert_feishu_error(&r, 400, 154000);
    }

    // Listing: creation order, paging to the end, filters.
    let mut ids = vec![id.clone()];
    for i in 0..4 {
        let category = if i % 2 == 0 { "111" } else { "222" };
        ids.push(create(&desk, json!({"question": format!("Question {i} about printers"), "answer": "a", "category_id": category})).await);
    }
    let listed = all_pages(&desk, "/faqs?status=1", 2).await;
    let listed_ids: Vec<&str> = listed.iter().map(|f| f["faq_id"].as_str().unwrap()).collect();
    assert_eq!(listed_ids, ids);
    let first = ok(&desk, &desk.token, Method::GET, "/faqs?page_size=2", None).await;
    assert_eq!(
        (
            first["total"].clone(),
            first["page_size"].clone(),
            first["has_more"].clone()
        ),
        (json!(5), json!(2), json!(true))
    );
    let cat = ok(&desk, &desk.token, Method::GET, "/faqs?category_id=111", None).await;
    assert_eq!(cat["total"], json!(2));
    assert_eq!(cat["items"][0]["faq_id"], json!(ids[1]));
    let found = ok(&desk, &desk.token, Method::GET, "/faqs?search=PRINTERS%201", None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["faq_id"], json!(ids[2]));

    // Delete: gone for get, patch, delete; listed under status 0.
    ok(&desk, &agent, Method::DELETE, &format!("/faqs/{id}"), None).await;
    assert_feishu_error(
        &call(&desk, &desk.token, Method::GET, &format!("/faqs/{id}"), None).await,
        404,
        154004,
    );
    assert_feishu_error(
        &call(&desk, &desk.token, Method::DELETE, &format!("/faqs/{id}"), None).await,
        404,
        154004,
    );
    let deleted = ok(&desk, &desk.token, Method::GET, "/faqs?status=0", None).await;
    assert_eq!(deleted["total"], json!(1));
    assert_eq!(deleted["items"][0]["faq_id"], json!(id));
    assert_eq!(
        ok(&desk, &desk.token, Method::GET, "/faqs", None).await["total"],
        json!(4)
    );
    assert_eq!(
        ok(&desk, &desk.token, Method::GET, "/faqs?status=2", None).await["total"],
        json!(0)
    );
}

#[tokio::test]
async fn faq_search_ranks_chinese_and_english_and_pages_to_the_end() {
    let desk = Desk::new().await;
    let zh = create(
        &desk,
        json!({"question": "如何重置登录密码", "answer": "在设置页面点击重置", "tags": ["忘记密码"]}),
    )
    .await;
    let en = create(
        &desk,
        json!({"question": "How do I reset my password?", "answer": "Open settings and click Reset."}),
    )
    .await;
    let vpn = create(
        &desk,
        json!({"question": "VPN 连接失败怎么办", "answer": "重新安装客户端"}),
    )
    .await;
    let printer = create(
        &desk,
        json!({"question": "Printer setup", "answer": "Ask IT to reset the printer queue"}),
    )
    .await;
    let other = create(&desk, json!({"question": "报销流程", "answer": "每月提交"})).await;

    let search = |query: &str, extra: &str| {
        let desk = &desk;
        let path = format!("/faqs/search?query={}{extra}", url_escape(query));
        async move { ok(desk, &desk.token, Method::GET, &path, None).await }
    };
    let ids = |data: &Value| -> Vec<String> {
        data["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["faq_id"].as_str().unwrap().to_owned())
            .collect()
    };

    let r = search("重置密码", "").await;
    assert_eq!(ids(&r).first(), Some(&zh), "{r}");
    assert!(!ids(&r).contains(&other));
    let b64 = base64::engine::general_purpose::STANDARD.encode("重置密码");
    let r64 = search(&b64, "&base64=true").await;
    assert_eq!(ids(&r64), ids(&r));
    let r = search("reset password", "").await;
    assert_eq!(ids(&r), vec![en.clone(), printer.clone()], "{r}");
    assert_eq!(r["has_more"], json!(false));
    assert!(r.get("page_token").is_none());
    assert!(r.get("total").is_none() && r.get("page_size").is_none());
    let r = search("vpn", "").await;
    assert_eq!(ids(&r), vec![vpn.clone()]);
    assert!(ids(&search("nothing matches this", "").await).is_empty());

    // Paging through a ranking: one per page, to the end, same order as one page.
    let whole = ids(&search("重置 reset", "&page_size=20").await);
    assert_eq!(whole.len(), 3, "{whole:?}");
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let extra = format!(
            "&page_size=1{}",
            token
                .as_ref()
                .map(|t| format!("&page_token={t}"))
                .unwrap_or_default()
        );
        let page = search("重置 reset", &extra).await;
        paged.extend(ids(&page));
        if page["has_more"] == json!(false) {
            assert!(page.get("page_token").is_none());
            break;
        }
        token = Some(page["page_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(paged, whole);

    // Deleted FAQs are not found; edits are.
    ok(&desk, &desk.token, Method::DELETE, &format!("/faqs/{zh}"), None).await;
    assert!(!ids(&search("重置密码", "").await).contains(&zh));
    ok(
        &desk,
        &desk.token,
        Method::PATCH,
        &format!("/faqs/{other}"),
        Some(json!({"faq": {"tags": ["重置密码"]}})),
    )
    .await;
    assert_eq!(ids(&search("重置密码", "").await).first(), Some(&other));

    for query in [
        "",
        "?query=",
        "?query=%25%25&base64=true",
        "?query=x&page_size=101",
        "?query=x&page_token=x",
        "?query=x&base64=maybe",
    ] {
        let r = call(
            &desk,
            &desk.token,
            Method::GET,
            &format!("/faqs/search{query}"),
            None,
        )
        .await;
        assert_feishu_error(&r, 400, 154000);
    }
}

/// Percent-encode every byte but unreserved ASCII.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn faq_images_are_served_as_bytes() {
    let desk = Desk::new().await;
    let id = create(
        &desk,
        json!({"question": "Where is the printer?", "answer": "See the map"}),
    )
    .await;
    let png = [0x89, b'P', b'N', b'G', 1, 2, 3];
    let path = format!("/helpdesks/{}/faqs/{id}/images", desk.helpdesk_id);
    let data = desk
        .server
        .admin(
            &path,
            json!({"image": base64::engine::general_purpose::STANDARD.encode(png), "image_key": "img_map"}),
        )
        .await;
    assert_eq!(data["image_key"], json!("img_map"));
    let generated = desk
        .server
        .admin(
            &path,
            json!({"image": base64::engine::general_purpose::STANDARD.encode([0xff, 0xd8, 0])}),
        )
        .await["image_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(generated.starts_with("img_"));

    let r = desk
        .server
        .http
        .get(
            desk.server
                .url(&format!("/open-apis/helpdesk/v1/faqs/{id}/image/img_map")),
        )
        .bearer_auth(&desk.token)
        .header("X-Lark-Helpdesk-Authorization", &desk.header)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("img_map")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &png);
    let r = call(
        &desk,
        &desk.token,
        Method::GET,
        &format!("/faqs/{id}/image/{generated}"),
        None,
    )
    .await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/jpeg")));

    assert_feishu_error(
        &call(
            &desk,
            &desk.token,
            Method::GET,
            &format!("/faqs/{id}/image/img_nope"),
            None,
        )
        .await,
        404,
        154004,
    );
    assert_feishu_error(
        &call(&desk, &desk.token, Method::GET, "/faqs/x/image/img_map", None).await,
        400,
        154000,
    );
    let r = desk
        .server
        .admin_raw(
            &format!("/helpdesks/{}/faqs/1/images", desk.helpdesk_id),
            json!({"image": "AAAA"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = desk.server.admin_raw(&path, json!({"image": "%%"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A deleted FAQ's images are gone with it.
    ok(&desk, &desk.token, Method::DELETE, &format!("/faqs/{id}"), None).await;
    assert_feishu_error(
        &call(
            &desk,
            &desk.token,
            Method::GET,
            &format!("/faqs/{id}/image/img_map"),
            None,
        )
        .await,
        404,
        154004,
    );
}

#[tokio::test]
async fn the_emulated_bot_answers_a_guest_question_from_the_faq_search() {
    let desk = Desk::new().await;
    let reset = create(
        &desk,
        json!({"question": "如何重置登录密码", "answer": "在设置页面点击重置"}),
    )
    .await;
    create(&desk, json!({"question": "Printer setup", "answer": "Ask IT"})).await;
    let id = desk.start(false).await;
    let sent = desk
        .act(&id, "guest_message", json!({"content": "密码忘了，怎么重置？"}))
        .await;
    let event_id = sent["event_id"].as_str().unwrap();
    let path = format!("/helpdesks/{}/tickets/{id}/bot_answer", desk.helpdesk_id);
    let answered = desk.server.admin(&path, json!({"event_id": event_id})).await;
    assert_eq!(answered["faq_ids"], json!([reset]));
    let listed = ok(
        &desk,
        &desk.token,
        Method::GET,
        &format!("/tickets/{id}/messages"),
        None,
    )
    .await;
    assert_eq!(listed["total"], json!(2));
    let answer = listed["messages"][1].clone();
    assert!(
        answer["content"].as_str().unwrap().contains("如何重置登录密码"),
        "{answer}"
    );

    // A question no FAQ answers: nothing is posted.
    let sent = desk.act(&id, "guest_message", json!({"content": "xyzzy"})).await;
    let answered = desk
        .server
        .admin(&path, json!({"event_id": sent["event_id"]}))
        .await;
    assert_eq!(answered["faq_ids"], json!([]));
    let r = desk.server.admin_raw(&path, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = desk.server.admin_raw(&path, json!({"event_id": "nope"})).await;
    assert_eq!(r.status, 404, "{}", r.text);
}
