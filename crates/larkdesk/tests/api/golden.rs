//! Golden wire shapes of every endpoint: field names and JSON types (strings vs integers vs
//! floats, ms integers vs string ms), with generated values abstracted away. The files live in
//! `tests/golden/shapes/`; `LARKDESK_BLESS=1` rewrites them after a deliberate wire change.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::lifecycle::Desk;

/// A value's shape: scalars become their type name, arrays the shape of their first element,
/// objects keep their keys.
fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(n) if n.is_f64() => json!("float"),
        Value::Number(_) => json!("int"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn check(name: &str, body: &Value) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/shapes/{name}.json"));
    let got = shape(body);
    if std::env::var_os("LARKDESK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display())),
    )
    .unwrap();
    assert_eq!(got, want, "wire shape of {name} changed");
}

async fn call(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = desk.feishu(method, path);
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let r = desk.server.send(request).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()
}

#[tokio::test]
async fn every_endpoint_keeps_its_wire_shape() {
    let desk = Desk::new().await;
    let started = call(
        &desk,
        Method::POST,
        "/start_service",
        Some(json!({"open_id": desk.guest, "human_service": true})),
    )
    .await;
    check("start_service", &started);
    let id = started["data"]["ticket_id"].as_str().unwrap().to_owned();
    call(&desk, Method::POST, "/ticket_customized_fields", Some(json!({"key_name": "k", "display_name": "K", "position": "1", "field_type": "string", "description": "", "visible": true, "editable": true, "required": false}))).await;
    let fields = call(&desk, Method::GET, "/ticket_customized_fields", Some(json!({}))).await;
    check("list_ticket_customized_fields", &fields);
    let field_id = fields["data"]["items"][0]["ticket_customized_field_id"]
        .as_str()
        .unwrap()
        .to_owned();
    check(
        "get_ticket_customized_field",
        &call(
            &desk,
            Method::GET,
            &format!("/ticket_customized_fields/{field_id}"),
            None,
        )
        .await,
    );
    check(
        "customized_fields",
        &call(&desk, Method::GET, "/customized_fields", None).await,
    );

    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.act(&id, "guest_message", json!({"content": "hi"})).await;
    desk.advance(90).await;
    desk.act(
        &id,
        "agent_message",
        json!({"agent_id": desk.agent_a, "content": "hello"}),
    )
    .await;
    let update = json!({"comment": "note", "tag_names": ["t"], "customized_fields": [{"id": field_id, "value": "v"}], "solved": 2});
    check(
        "update_ticket",
        &call(&desk, Method::PUT, &format!("/tickets/{id}"), Some(update)).await,
    );
    check(
        "create_ticket_message",
        &call(
            &desk,
            Method::POST,
            &format!("/tickets/{id}/messages"),
            Some(json!({"msg_type": "text", "content": "{}"})),
        )
        .await,
    );
    desk.act(&id, "close", json!({"by": "agent", "agent_id": desk.agent_a}))
        .await;
    desk.act(
        &id,
        "rate",
        json!({"score": 1, "dissatisfaction_reason": {"zh_cn": "a", "en_us": "b", "ja_jp": "c"}}),
    )
    .await;

    // A fully populated ticket, in both the single and the list endpoint.
    check(
        "get_ticket",
        &call(&desk, Method::GET, &format!("/tickets/{id}"), None).await,
    );
    check(
        "list_tickets",
        &call(&desk, Method::GET, &format!("/tickets?ticket_id={id}"), None).await,
    );
    check(
        "list_ticket_messages",
        &call(&desk, Method::GET, &format!("/tickets/{id}/messages"), None).await,
    );
    check(
        "bot_message",
        &call(
            &desk,
            Method::POST,
            "/message",
            Some(json!({"msg_type": "text", "content": "{}", "receiver_id": desk.guest})),
        )
        .await,
    );

    let token = desk
        .server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": desk.app_id, "app_secret": desk.server.demo().app_secret}).to_string(),
        )
        .await;
    check("tenant_access_token", &token.json());
    let error = desk.server.send(desk.feishu(Method::GET, "/tickets/1")).await;
    check("error", &error.json());
}

#[tokio::test]
async fn agent_and_category_endpoints_keep_their_wire_shape() {
    let desk = Desk::new().await;
    let a = desk.agent_a.clone();
    desk.server
        .admin(
            "/users",
            json!({"tenant_key": desk.tenant_key, "id": a, "name": "Agent A", "email": "a@example.com", "is_agent": true}),
        )
        .await;
    let skill = call(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": "s", "agent_ids": [a], "rules": [{"id": "3", "selected_operator": 5, "operand": "[\"Beijing\"]"}]})),
    )
    .await;
    check("create_agent_skill", &skill);
    let skill_id = skill["data"]["agent_skill_id"].as_str().unwrap().to_owned();
    let schedules = json!({"agent_schedules": [{"agent_id": a, "schedule": [{"weekday": 9, "start_time": "00:00", "end_time": "24:00"}], "agent_skill_ids": [skill_id]}]});
    check(
        "create_agent_schedules",
        &call(&desk, Method::POST, "/agent_schedules", Some(schedules)).await,
    );
    check(
        "patch_agent",
        &call(
            &desk,
            Method::PATCH,
            &format!("/agents/{a}"),
            Some(json!({"status": 1})),
        )
        .await,
    );
    check(
        "agent_emails",
        &call(&desk, Method::GET, "/agent_emails", None).await,
    );
    check(
        "get_agent_schedules",
        &call(&desk, Method::GET, &format!("/agents/{a}/schedules"), None).await,
    );
    check(
        "list_agent_schedules",
        &call(&desk, Method::GET, "/agent_schedules?status=1&status=3", None).await,
    );
    check(
        "get_agent_skill",
        &call(&desk, Method::GET, &format!("/agent_skills/{skill_id}"), None).await,
    );
    check(
        "list_agent_skills",
        &call(&desk, Method::GET, "/agent_skills", None).await,
    );
    check(
        "list_agent_skill_rules",
        &call(&desk, Method::GET, "/agent_skill_rules", None).await,
    );
    let top = call(
        &desk,
        Method::POST,
        "/categories",
        Some(json!({"name": "top", "parent_id": "0", "language": "zh_cn"})),
    )
    .await;
    check("create_category", &top);
    let top_id = top["data"]["category"]["category_id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &desk,
        Method::POST,
        "/categories",
        Some(json!({"name": "child", "parent_id": top_id})),
    )
    .await;
    check(
        "list_categories",
        &call(&desk, Method::GET, "/categories", None).await,
    );
    check(
        "get_category",
        &call(&desk, Method::GET, &format!("/categories/{top_id}"), None).await,
    );
    check(
        "patch_category",
        &call(
            &desk,
            Method::PATCH,
            &format!("/categories/{top_id}"),
            Some(json!({"name": "t"})),
        )
        .await,
    );
    check(
        "patch_agent_skill",
        &call(
            &desk,
            Method::PATCH,
            &format!("/agent_skills/{skill_id}"),
            Some(json!({"agent_skill": {"name": "t"}})),
        )
        .await,
    );
    check(
        "patch_agent_schedules",
        &call(
            &desk,
            Method::PATCH,
            &format!("/agents/{a}/schedules"),
            Some(json!({"agent_schedule": {"schedule": []}})),
        )
        .await,
    );
    check(
        "delete_agent_schedules",
        &call(&desk, Method::DELETE, &format!("/agents/{a}/schedules"), None).await,
    );
    check(
        "delete_agent_skill",
        &call(&desk, Method::DELETE, &format!("/agent_skills/{skill_id}"), None).await,
    );
    let child_refused = desk
        .server
        .send(desk.feishu(Method::DELETE, &format!("/categories/{top_id}")))
        .await;
    check("delete_category_refused", &child_refused.json());
    let invalid_status = desk
        .server
        .send(
            desk.feishu(Method::PATCH, &format!("/agents/{a}"))
                .body(json!({"status": 9}).to_string()),
        )
        .await;
    check("patch_agent_invalid_status", &invalid_status.json());
}

#[tokio::test]
async fn faqs_and_notifications_keep_their_wire_shape() {
    let desk = Desk::new().await;
    let faq = json!({"faq": {"category_id": "1", "question": "How do I reset my password?", "answer": "Open settings", "tags": ["reset"]}});
    let created = call(&desk, Method::POST, "/faqs", Some(faq)).await;
    check("create_faq", &created);
    let id = created["data"]["faq"]["faq_id"].as_str().unwrap().to_owned();
    call(
        &desk,
        Method::POST,
        "/faqs",
        Some(json!({"faq": {"question": "Second", "answer": "x"}})),
    )
    .await;
    check(
        "get_faq",
        &call(&desk, Method::GET, &format!("/faqs/{id}"), None).await,
    );
    check(
        "update_faq",
        &call(
            &desk,
            Method::PATCH,
            &format!("/faqs/{id}"),
            Some(json!({"faq": {"question": "Reset password"}})),
        )
        .await,
    );
    check(
        "list_faqs",
        &call(&desk, Method::GET, "/faqs?page_size=1", None).await,
    );
    check(
        "search_faqs",
        &call(&desk, Method::GET, "/faqs/search?query=reset&page_size=1", None).await,
    );

    let job = json!({"job_name": "j", "push_content": "{}", "push_type": 0, "push_scope_type": 2,
        "user_list": [{"user_id": desk.guest}], "department_list": [{"department_id": "od_1", "name": "IT"}],
        "chat_list": [{"chat_id": "oc_1", "name": "c"}], "new_staff_scope_department_list": [{"department_id": "od_2", "name": "HR"}]});
    let created = call(&desk, Method::POST, "/notifications", Some(job)).await;
    check("create_notification", &created);
    let id = created["data"]["notification_id"].as_str().unwrap().to_owned();
    check(
        "submit_approve_notification",
        &call(
            &desk,
            Method::POST,
            &format!("/notifications/{id}/submit_approve"),
            Some(json!({"reason": "r"})),
        )
        .await,
    );
    check(
        "get_notification",
        &call(&desk, Method::GET, &format!("/notifications/{id}"), None).await,
    );
}
