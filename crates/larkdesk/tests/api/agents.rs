//! Agents, schedules, skills, skill rules and FAQ categories: behaviour and error codes, and
//! the routing of tickets that wait for a human, driven with the frozen clock.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Response, assert_feishu_error};
use crate::lifecycle::Desk;

async fn call(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = desk.feishu(method, path);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
    }
    desk.server.send(request).await
}

async fn ok(desk: &Desk, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = call(desk, method.clone(), path, body).await;
    assert_eq!((r.status, r.code()), (200, 0), "{method} {path}: {}", r.text);
    assert_eq!(r.json()["msg"], json!("success"));
    r.json()["data"].clone()
}

async fn refused(
    desk: &Desk,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: i64,
) -> Value {
    let r = call(desk, method, path, body).await;
    assert_feishu_error(&r, status, code);
    let message = r.json()["error"]["message"].clone();
    assert!(
        status != 400 || message.as_str().is_some_and(|m| !m.is_empty()),
        "a bad request says why: {}",
        r.text
    );
    message
}

/// A user of the demo tenant.
async fn user(desk: &Desk, name: &str, extra: Value) -> String {
    let mut body = json!({"tenant_key": desk.tenant_key, "name": name});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    desk.server.admin("/users", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const DAY_MS: i64 = 86_400_000;

/// Move the frozen clock forward to the next `weekday` (1 Monday … 7 Sunday) at `hh:mm` UTC,
/// with a fresh tenant token (the old one may have expired on the way).
async fn advance_to(desk: &mut Desk, weekday: i64, hh: i64, mm: i64) {
    let now = desk.server.admin("/clock/advance", json!({"seconds": 0})).await["now_ms"]
        .as_i64()
        .unwrap();
    let day = now.div_euclid(DAY_MS);
    let today = (day + 3).rem_euclid(7) + 1;
    let mut target = (day + (weekday - today).rem_euclid(7)) * DAY_MS + (hh * 60 + mm) * 60_000;
    if target < now {
        target += 7 * DAY_MS;
    }
    // Whole seconds, rounded up: the clock started at some millisecond of a second.
    let seconds = (target - now + 999) / 1000;
    desk.server
        .admin("/clock/advance", json!({"seconds": seconds}))
        .await;
    desk.token = desk.server.demo_token().await;
}

/// Move the frozen clock forward by minutes (routing runs after every advance).
async fn minutes(desk: &mut Desk, m: i64) {
    desk.server
        .admin("/clock/advance", json!({"seconds": m * 60}))
        .await;
    desk.token = desk.server.demo_token().await;
}

/// `GET /agent_schedules?{q}`: (agent, status) pairs.
async fn list(desk: &Desk, q: &str) -> Vec<(String, i64)> {
    ok(desk, Method::GET, &format!("/agent_schedules?{q}"), None).await["agent_schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["agent"]["id"].as_str().unwrap().to_owned(),
                s["status"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn weekdays(start: &str, end: &str) -> Value {
    json!([{"weekday": 10, "start_time": start, "end_time": end}])
}

#[tokio::test]
async fn agent_status_emails_and_schedules() {
    let mut desk = Desk::new().await;
    let a = desk.agent_a.clone();
    let b = desk.agent_b.clone();
    let carol = user(
        &desk,
        "Carol",
        json!({"email": "carol@example.com", "is_agent": true}),
    )
    .await;

    // Emails of the tenant's agents, as JSON text keyed by open_id.
    let emails = ok(&desk, Method::GET, "/agent_emails", None).await;
    let map: Value = serde_json::from_str(emails["agents"].as_str().expect("a string")).unwrap();
    assert_eq!(map[&carol], json!("carol@example.com"));
    assert!(map.get(&desk.guest).is_none(), "only agents");

    advance_to(&mut desk, 1, 10, 0).await;
    ok(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [
            {"agent_id": a, "schedule": weekdays("09:00", "18:00"), "agent_skill_ids": []},
            {"agent_id": b, "schedule": [{"weekday": 6, "start_time": "00:00", "end_time": "24:00"}]},
        ]})),
    )
    .await;
    let got = ok(&desk, Method::GET, &format!("/agents/{a}/schedules"), None).await;
    let s = &got["agent_schedule"];
    assert_eq!(s["status"], json!(1), "online and on duty: {s}");
    assert_eq!(s["agent"]["id"], json!(a));
    assert_eq!(s["agent"]["name"], json!("Agent A"));
    assert_eq!(s["schedule"], weekdays("09:00", "18:00"));
    assert_eq!(s["agent_skills"], json!([]));

    // B works Saturdays only: off duty on a Monday.
    assert_eq!(
        list(&desk, "status=1&status=3").await,
        vec![(a.clone(), 1), (b.clone(), 3)]
    );
    assert_eq!(list(&desk, "status=3").await, vec![(b.clone(), 3)]);

    // Offline is the agent's choice and wins over the schedule.
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 2})),
    )
    .await;
    assert_eq!(list(&desk, "status=2").await, vec![(a.clone(), 2)]);
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 1})),
    )
    .await;
    assert_eq!(list(&desk, "status=1").await, vec![(a.clone(), 1)]);

    // PATCH replaces the schedule; leaving the schedule out keeps it.
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}/schedules"),
        Some(json!({"agent_schedule": {"schedule": weekdays("11:00", "12:00")}})),
    )
    .await;
    assert_eq!(
        list(&desk, "status=3").await,
        vec![(a.clone(), 3), (b.clone(), 3)]
    );

    // DELETE removes the agent from the roster: status 4.
    ok(&desk, Method::DELETE, &format!("/agents/{b}/schedules"), None).await;
    assert_eq!(list(&desk, "status=4").await, vec![(b.clone(), 4)]);
    let removed = ok(&desk, Method::GET, &format!("/agents/{b}/schedules"), None).await;
    assert_eq!(removed["agent_schedule"]["schedule"], json!([]));
    assert_eq!(removed["agent_schedule"]["status"], json!(4));
    // Without a status filter: everyone on the roster.
    assert_eq!(list(&desk, "").await.len(), 2);
}

#[tokio::test]
async fn agent_endpoints_refuse_bad_input_with_feishu_codes() {
    let desk = Desk::new().await;
    let a = desk.agent_a.clone();
    let guest = desk.guest.clone();

    // Unknown agents and people who are not agents: 404 in the path, 400 in a body.
    refused(
        &desk,
        Method::PATCH,
        "/agents/ou_nobody",
        Some(json!({"status": 1})),
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/agents/{guest}"),
        Some(json!({"status": 1})),
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::GET,
        "/agents/ou_nobody/schedules",
        None,
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::DELETE,
        &format!("/agents/{a}/schedules"),
        None,
        404,
        154004,
    )
    .await;
    let m = refused(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [{"agent_id": "ou_nobody", "schedule": weekdays("09:00", "18:00")}]})),
        400,
        154000,
    )
    .await;
    assert!(m.as_str().unwrap().contains("ou_nobody"), "{m}");

    // An agent status other than 1 or 2: Feishu's 150001.
    for body in [json!({"status": 3}), json!({}), json!({"status": 0})] {
        refused(
            &desk,
            Method::PATCH,
            &format!("/agents/{a}"),
            Some(body),
            400,
            150001,
        )
        .await;
    }

    // Schedules: overlapping entries, bad weekdays and times.
    for schedule in [
        json!([{"weekday": 10, "start_time": "09:00", "end_time": "18:00"}, {"weekday": 1, "start_time": "17:00", "end_time": "19:00"}]),
        json!([{"weekday": 8, "start_time": "09:00", "end_time": "18:00"}]),
        json!([{"weekday": 1, "start_time": "18:00", "end_time": "09:00"}]),
        json!([{"weekday": 1, "start_time": "9am", "end_time": "18:00"}]),
    ] {
        refused(
            &desk,
            Method::PATCH,
            &format!("/agents/{a}/schedules"),
            Some(json!({"agent_schedule": {"schedule": schedule}})),
            400,
            154000,
        )
        .await;
    }
    let m = refused(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}/schedules"),
        Some(json!({"agent_schedule": {"schedule": [{"weekday": 9, "start_time": "00:00", "end_time": "24:00"}, {"weekday": 11, "start_time": "10:00", "end_time": "11:00"}]}})),
        400,
        154000,
    )
    .await;
    assert!(m.as_str().unwrap().contains("overlap"), "{m}");
    // Nothing was written by the refused batch.
    refused(
        &desk,
        Method::DELETE,
        &format!("/agents/{a}/schedules"),
        None,
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}/schedules"),
        Some(json!({})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": []})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [{"agent_id": a, "schedule": [], "agent_skill_ids": ["123"]}]})),
        400,
        154000,
    )
    .await;
    refused(&desk, Method::GET, "/agent_schedules?status=5", None, 400, 154000).await;
    refused(&desk, Method::GET, "/agent_schedules?status=x", None, 400, 154000).await;

    // Skills: unknown rules, operators the rule does not offer, unknown agents, unknown ids.
    let m = refused(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": "s", "rules": [{"id": "99", "selected_operator": 5, "operand": "x"}]})),
        400,
        154000,
    )
    .await;
    assert!(m.as_str().unwrap().contains("unknown skill rule"), "{m}");
    for body in [
        json!({"name": "s", "rules": [{"id": "3", "selected_operator": 8, "operand": "x"}]}),
        json!({"name": "s", "rules": [{"id": "3", "operand": "x"}]}),
        json!({"name": "s", "agent_ids": ["ou_nobody"]}),
        json!({"name": "", "agent_ids": []}),
        json!({"rules": []}),
    ] {
        refused(&desk, Method::POST, "/agent_skills", Some(body), 400, 154000).await;
    }
    refused(&desk, Method::GET, "/agent_skills/123", None, 404, 154004).await;
    refused(
        &desk,
        Method::PATCH,
        "/agent_skills/123",
        Some(json!({"agent_skill": {"name": "x"}})),
        404,
        154004,
    )
    .await;
    refused(&desk, Method::DELETE, "/agent_skills/123", None, 404, 154004).await;
    let id = ok(&desk, Method::POST, "/agent_skills", Some(json!({"name": "dup"}))).await["agent_skill_id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": "dup"})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/agent_skills/{id}"),
        Some(json!({"agent_skill": {"rules": [{"id": "nope", "selected_operator": 5}]}})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/agent_skills/{id}"),
        Some(json!({})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/agent_skills/{id}"),
        Some(json!("[")),
        400,
        154000,
    )
    .await;

    // The usual checks come first: no token, then no helpdesk header.
    let r = desk
        .server
        .send(
            desk.server
                .http
                .get(desk.server.url("/open-apis/helpdesk/v1/agent_skills")),
        )
        .await;
    assert_feishu_error(&r, 400, 99991661);
    let r = desk
        .server
        .send(
            desk.server
                .http
                .get(desk.server.url("/open-apis/helpdesk/v1/agent_skill_rules"))
                .bearer_auth(&desk.token),
        )
        .await;
    assert_feishu_error(&r, 401, 154001);

    // Writes need helpdesk:all: a read-only app may list but not create.
    let reader = desk
        .server
        .new_tenant(json!({"scopes": ["helpdesk:all:readonly"]}))
        .await;
    let token = desk.server.tenant_token(&reader.app_id, &reader.app_secret).await;
    let as_reader = |method: Method, path: &str| {
        desk.server
            .http
            .request(method, desk.server.url(&format!("/open-apis/helpdesk/v1{path}")))
            .bearer_auth(&token)
            .header("X-Lark-Helpdesk-Authorization", reader.helpdesk_header())
            .body(json!({"name": "x", "parent_id": "0"}).to_string())
    };
    let r = desk.server.send(as_reader(Method::GET, "/categories")).await;
    assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
    for (method, path) in [
        (Method::POST, "/categories"),
        (Method::POST, "/agent_skills"),
        (Method::PATCH, "/agents/ou_x"),
        (Method::DELETE, "/agents/ou_x/schedules"),
    ] {
        let r = desk.server.send(as_reader(method, path)).await;
        assert_feishu_error(&r, 400, 99991672);
    }
}

#[tokio::test]
async fn skills_crud_with_rules_and_agents() {
    let desk = Desk::new().await;
    let (a, b) = (desk.agent_a.clone(), desk.agent_b.clone());

    let rules = ok(&desk, Method::GET, "/agent_skill_rules", None).await["rules"].clone();
    let city = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!("3"))
        .expect("the city rule");
    assert_eq!(city["operator_options"], json!([5, 6]));
    assert_eq!(city["category"], json!(3));

    // The operand as the SDKs send it (a string) and as Feishu's examples show it (an object).
    let operand = json!({"selected_departments": [{"id": "od_it", "name": "IT"}]});
    let id = ok(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": "IT desk", "agent_ids": [a],
                    "rules": [{"id": "12", "selected_operator": 8, "operand": operand},
                              {"id": "3", "selected_operator": 5, "operand": "[\"Beijing\"]"}]})),
    )
    .await["agent_skill_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let skill = ok(&desk, Method::GET, &format!("/agent_skills/{id}"), None).await["agent_skill"].clone();
    assert_eq!(skill["id"], json!(id));
    assert_eq!(skill["agent_skill_id"], json!(id));
    assert_eq!(skill["helpdesk_id"], json!(desk.helpdesk_id));
    assert_eq!(skill["name"], json!("IT desk"));
    assert_eq!(skill["is_default"], json!(false));
    assert_eq!(skill["agent_ids"], json!([a]));
    assert_eq!(skill["agents"][0]["name"], json!("Agent A"));
    assert_eq!(skill["rules"][0]["selected_operator"], json!(8));
    assert_eq!(skill["rules"][0]["operator_options"], json!([7, 8]));
    let text = skill["rules"][0]["operand"]
        .as_str()
        .expect("operand is a string");
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), operand);
    assert_eq!(skill["rules"][1]["operand"], json!("[\"Beijing\"]"));

    // A's schedule shows the skill; a schedule naming skills replaces the agent's skills.
    let s = ok(&desk, Method::GET, &format!("/agents/{a}/schedules"), None).await;
    assert_eq!(
        s["agent_schedule"]["agent_skills"],
        json!([{"id": id, "name": "IT desk", "is_default": false}])
    );
    ok(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [{"agent_id": b, "schedule": [], "agent_skill_ids": [id]}]})),
    )
    .await;
    let skill = ok(&desk, Method::GET, &format!("/agent_skills/{id}"), None).await["agent_skill"].clone();
    assert_eq!(skill["agent_ids"], json!([a, b]));

    // PATCH: the whole-object body lark-oapi sends, read-only fields ignored.
    ok(
        &desk,
        Method::PATCH,
        &format!("/agent_skills/{id}"),
        Some(
            json!({"agent_skill": {"id": "999", "helpdesk_id": "1", "is_default": true, "name": "IT",
                                    "agent_ids": [b], "rules": [], "agents": [{"id": "x"}]}}),
        ),
    )
    .await;
    let skill = ok(&desk, Method::GET, &format!("/agent_skills/{id}"), None).await["agent_skill"].clone();
    assert_eq!(
        (
            skill["name"].clone(),
            skill["agent_ids"].clone(),
            skill["rules"].clone()
        ),
        (json!("IT"), json!([b]), json!([]))
    );
    assert_eq!(skill["is_default"], json!(false));

    let other = ok(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(json!({"name": "other"})),
    )
    .await["agent_skill_id"]
        .clone();
    let all = ok(&desk, Method::GET, "/agent_skills", None).await["agent_skills"].clone();
    let ids: Vec<&Value> = all.as_array().unwrap().iter().map(|s| &s["id"]).collect();
    assert_eq!(ids, vec![&json!(id), &other]);

    ok(&desk, Method::DELETE, &format!("/agent_skills/{id}"), None).await;
    refused(
        &desk,
        Method::GET,
        &format!("/agent_skills/{id}"),
        None,
        404,
        154004,
    )
    .await;
    let s = ok(&desk, Method::GET, &format!("/agents/{b}/schedules"), None).await;
    assert_eq!(s["agent_schedule"]["agent_skills"], json!([]));
}

#[tokio::test]
async fn categories_nest_order_and_refuse_bad_changes() {
    let desk = Desk::new().await;
    let create = |name: &'static str, parent: String, lang: Option<&'static str>| {
        let desk = &desk;
        async move {
            let mut body = json!({"name": name, "parent_id": parent});
            if let Some(lang) = lang {
                body["language"] = json!(lang);
            }
            ok(desk, Method::POST, "/categories", Some(body)).await["category"].clone()
        }
    };
    let top = create("Top", "0".into(), None).await;
    let top_id = top["category_id"].as_str().unwrap().to_owned();
    assert_eq!(top["id"], json!(top_id));
    assert_eq!(top["parent_id"], json!("0"));
    assert_eq!(top["language"], json!("zh_cn"));
    assert_eq!(top["helpdesk_id"], json!(desk.helpdesk_id));
    let child = create("Child", top_id.clone(), Some("en_us")).await;
    let child_id = child["category_id"].as_str().unwrap().to_owned();
    let grandchild = create("Grandchild", child_id.clone(), Some("en_us")).await;
    let gc_id = grandchild["category_id"].as_str().unwrap().to_owned();
    desk.advance(5).await;
    let second = create("Second", "0".into(), None).await;
    let second_id = second["category_id"].as_str().unwrap().to_owned();

    let flat = ok(&desk, Method::GET, &format!("/categories/{child_id}"), None).await;
    assert_eq!(flat["name"], json!("Child"));
    assert!(
        flat.get("parent_id").is_none(),
        "get is flat and has no parent_id: {flat}"
    );

    let tree = ok(&desk, Method::GET, "/categories", None).await["categories"].clone();
    assert_eq!(tree[0]["category_id"], json!(top_id));
    assert_eq!(tree[0]["children"][0]["category_id"], json!(child_id));
    assert_eq!(tree[0]["children"][0]["children"][0]["category_id"], json!(gc_id));
    assert_eq!(tree[1]["category_id"], json!(second_id));
    assert_eq!(tree.as_array().unwrap().len(), 2);

    // Language filter: a category whose parent is filtered out is a root.
    let en = ok(&desk, Method::GET, "/categories?lang=en_us", None).await["categories"].clone();
    assert_eq!(en.as_array().unwrap().len(), 1);
    assert_eq!(en[0]["category_id"], json!(child_id));
    // Update time, descending (lark-oapi sends asc=False).
    let desc = ok(&desk, Method::GET, "/categories?order_by=1&asc=False", None).await["categories"].clone();
    assert_eq!(desc[0]["category_id"], json!(second_id));
    desk.advance(5).await;
    ok(
        &desk,
        Method::PATCH,
        &format!("/categories/{top_id}"),
        Some(json!({"name": "Top!"})),
    )
    .await;
    let desc = ok(&desk, Method::GET, "/categories?order_by=1&asc=false", None).await["categories"].clone();
    assert_eq!(
        (desc[0]["category_id"].clone(), desc[0]["name"].clone()),
        (json!(top_id), json!("Top!"))
    );

    // Moves: no cycles, parents must exist.
    refused(
        &desk,
        Method::PATCH,
        &format!("/categories/{top_id}"),
        Some(json!({"parent_id": gc_id})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/categories/{top_id}"),
        Some(json!({"parent_id": top_id})),
        400,
        154000,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/categories/{top_id}"),
        Some(json!({"parent_id": "42"})),
        400,
        154000,
    )
    .await;
    ok(
        &desk,
        Method::PATCH,
        &format!("/categories/{gc_id}"),
        Some(json!({"parent_id": second_id})),
    )
    .await;
    let tree = ok(&desk, Method::GET, "/categories", None).await["categories"].clone();
    assert_eq!(tree[1]["children"][0]["category_id"], json!(gc_id));

    // Deleting a category with subcategories is refused; leaves go.
    let m = refused(
        &desk,
        Method::DELETE,
        &format!("/categories/{top_id}"),
        None,
        400,
        154000,
    )
    .await;
    assert!(m.as_str().unwrap().contains("subcategories"), "{m}");
    ok(&desk, Method::DELETE, &format!("/categories/{child_id}"), None).await;
    ok(&desk, Method::DELETE, &format!("/categories/{top_id}"), None).await;
    refused(
        &desk,
        Method::GET,
        &format!("/categories/{top_id}"),
        None,
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::DELETE,
        &format!("/categories/{top_id}"),
        None,
        404,
        154004,
    )
    .await;
    refused(
        &desk,
        Method::PATCH,
        "/categories/1",
        Some(json!({"name": "x"})),
        404,
        154004,
    )
    .await;

    // Bad input.
    for body in [
        json!({"parent_id": "0"}),
        json!({"name": "x"}),
        json!({"name": "x", "parent_id": "42"}),
        json!([]),
    ] {
        refused(&desk, Method::POST, "/categories", Some(body), 400, 154000).await;
    }
    refused(&desk, Method::GET, "/categories?order_by=2", None, 400, 154000).await;
    refused(&desk, Method::GET, "/categories?asc=maybe", None, 400, 154000).await;
    refused(
        &desk,
        Method::PATCH,
        &format!("/categories/{second_id}"),
        Some(json!({"name": ""})),
        400,
        154000,
    )
    .await;
}

/// Who has a ticket and its status and stage.
async fn owner(desk: &Desk, id: &str) -> (Option<String>, i64, i64) {
    let t = desk.ticket(id).await;
    (
        t["agent_owner"]["id"].as_str().map(str::to_owned),
        t["status"].as_i64().unwrap(),
        t["ticket_type"].as_i64().unwrap(),
    )
}

/// A new guest from `city` opens a ticket in the bot stage and asks for a human.
async fn ask(desk: &Desk, city: &str) -> String {
    let guest = user(desk, &format!("Guest from {city}"), json!({"city": city})).await;
    let r = desk
        .server
        .send(
            desk.feishu(Method::POST, "/start_service")
                .body(json!({"open_id": guest}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let listed = ok(desk, Method::GET, &format!("/tickets?guest_id={guest}"), None).await;
    let id = listed["tickets"][0]["ticket_id"].as_str().unwrap().to_owned();
    desk.act(&id, "request_human", json!({})).await;
    id
}

#[tokio::test]
async fn routing_follows_status_schedules_skills_and_queue_order() {
    // Many GETs of tickets in a moment: the 10/s limit of GET /tickets/:id is not under test.
    let mut desk = Desk::with_args(&["--clock-control", "--no-rate-limit"]).await;
    let (a, b) = (desk.agent_a.clone(), desk.agent_b.clone());
    let some = |s: &str| Some(s.to_owned());

    // Monday 08:00. A works 09:00–18:00 on Beijing tickets, B 12:00–24:00 on Paris tickets.
    advance_to(&mut desk, 1, 8, 0).await;
    let skill = |name: &str, city: &str| json!({"name": name, "rules": [{"id": "3", "selected_operator": 5, "operand": format!("[\"{city}\"]")}]});
    let beijing = ok(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(skill("Beijing", "Beijing")),
    )
    .await["agent_skill_id"]
        .clone();
    let paris = ok(
        &desk,
        Method::POST,
        "/agent_skills",
        Some(skill("Paris", "Paris")),
    )
    .await["agent_skill_id"]
        .clone();
    ok(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [
            {"agent_id": a, "schedule": weekdays("09:00", "18:00"), "agent_skill_ids": [beijing]},
            {"agent_id": b, "schedule": weekdays("12:00", "24:00"), "agent_skill_ids": [paris]},
        ]})),
    )
    .await;

    // Before anyone's schedule opens: the ticket waits in the queue, human stage, status 3.
    let t1 = ask(&desk, "Beijing").await;
    let created = desk.ticket(&t1).await["created_at"].as_i64().unwrap();
    assert_eq!(owner(&desk, &t1).await, (None, 3, 2));

    // 09:00: A's schedule opens and the queue drains to A, as a manual agent_enter would.
    advance_to(&mut desk, 1, 9, 0).await;
    assert_eq!(owner(&desk, &t1).await, (some(&a), 2, 2));
    let t = desk.ticket(&t1).await;
    let entry = t["agent_entry_time"].as_i64().unwrap();
    assert_eq!(entry - created, 3600 * 1000);
    assert_eq!(t["bot_service_duration"], json!(3600));
    assert_eq!(t["agents"][0]["id"], json!(a));
    let events = desk
        .server
        .send(
            desk.server
                .http
                .get(desk.server.url(&format!(
                    "/larkdesk/admin/v1/helpdesks/{}/tickets/{t1}/events",
                    desk.helpdesk_id
                )))
                .bearer_auth(&desk.server.admin_token),
        )
        .await
        .json();
    let last = events["data"]["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(
        last.contains(&a) && last.contains("gent"),
        "an AgentEntered event: {last}"
    );

    // Skills miss: nobody takes a Berlin ticket; a Paris one waits for B's schedule.
    minutes(&mut desk, 30).await;
    let berlin = ask(&desk, "Berlin").await;
    minutes(&mut desk, 30).await;
    let t_paris = ask(&desk, "Paris").await;
    assert_eq!(owner(&desk, &berlin).await, (None, 3, 2));
    assert_eq!(owner(&desk, &t_paris).await, (None, 3, 2));
    // Skills match: a Beijing ticket goes to A at once.
    let t2 = ask(&desk, "Beijing").await;
    assert_eq!(owner(&desk, &t2).await.0, some(&a));

    // A goes offline mid-ticket: A keeps the tickets A has, new Beijing tickets wait.
    minutes(&mut desk, 30).await;
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 2})),
    )
    .await;
    let t3 = ask(&desk, "Beijing").await;
    minutes(&mut desk, 1).await;
    let t4 = ask(&desk, "Beijing").await;
    assert_eq!(owner(&desk, &t1).await, (some(&a), 2, 2));
    assert_eq!(owner(&desk, &t3).await, (None, 3, 2));

    // 12:00: B's schedule opens; the Paris ticket goes to B, Beijing and Berlin ones wait.
    advance_to(&mut desk, 1, 12, 0).await;
    assert_eq!(owner(&desk, &t_paris).await.0, some(&b));
    assert_eq!(owner(&desk, &t3).await.0, None);
    assert_eq!(owner(&desk, &berlin).await.0, None);

    // A back online: both waiting Beijing tickets go to A, at that moment.
    minutes(&mut desk, 10).await;
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 1})),
    )
    .await;
    for t in [&t3, &t4] {
        assert_eq!(owner(&desk, t).await.0, some(&a));
    }
    assert_eq!(
        desk.ticket(&t3).await["agent_entry_time"],
        desk.ticket(&t4).await["agent_entry_time"]
    );

    // 18:00: A's day ends, B takes only Paris tickets: two Rome tickets queue behind the
    // Berlin one.
    advance_to(&mut desk, 1, 18, 0).await;
    let older = ask(&desk, "Rome").await;
    minutes(&mut desk, 1).await;
    let newer = ask(&desk, "Rome").await;
    assert_eq!(owner(&desk, &older).await.0, None);
    // From 19:00 both take any ticket. The queue drains oldest first, each ticket to the agent
    // routed to longest ago: Berlin to B (last at 12:00), the older Rome ticket to A (last at
    // 12:10), the newer one to B again.
    let anything = json!([{"weekday": 9, "start_time": "19:00", "end_time": "24:00"}]);
    ok(
        &desk,
        Method::POST,
        "/agent_schedules",
        Some(json!({"agent_schedules": [
            {"agent_id": a, "schedule": anything, "agent_skill_ids": []},
            {"agent_id": b, "schedule": anything, "agent_skill_ids": []},
        ]})),
    )
    .await;
    assert_eq!(owner(&desk, &berlin).await.0, None, "nobody on duty before 19:00");
    advance_to(&mut desk, 1, 19, 0).await;
    assert_eq!(owner(&desk, &berlin).await.0, some(&b));
    assert_eq!(owner(&desk, &older).await.0, some(&a));
    assert_eq!(owner(&desk, &newer).await.0, some(&b));

    // A ticket whose agent leaves goes back to the queue and to the next agent who can take it.
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 2})),
    )
    .await;
    let left = desk.act(&older, "agent_leave", json!({"agent_id": a})).await;
    assert_eq!(left["ticket"]["agent_owner"]["id"], json!(b), "{left}");
    // Removed agents take nothing.
    ok(&desk, Method::DELETE, &format!("/agents/{b}/schedules"), None).await;
    let last = ask(&desk, "Oslo").await;
    assert_eq!(owner(&desk, &last).await, (None, 3, 2));
}

/// The ticket's event log (admin API).
async fn events(desk: &Desk, id: &str) -> Vec<Value> {
    let r = desk
        .server
        .send(
            desk.server
                .http
                .get(desk.server.url(&format!(
                    "/larkdesk/admin/v1/helpdesks/{}/tickets/{id}/events",
                    desk.helpdesk_id
                )))
                .bearer_auth(&desk.server.admin_token),
        )
        .await;
    r.json()["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_routed_assignment_is_a_manual_agent_enter() {
    let mut desk = Desk::new().await;
    let a = desk.agent_a.clone();
    advance_to(&mut desk, 3, 10, 0).await;
    let all_day = json!([{"weekday": 9, "start_time": "00:00", "end_time": "24:00"}]);
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}/schedules"),
        Some(json!({"agent_schedule": {"schedule": all_day}})),
    )
    .await;

    // Routed: a bot-stage ticket asks for a human after 90 s and goes to A at once.
    let routed = desk.start(false).await;
    minutes(&mut desk, 1).await;
    desk.advance(30).await;
    desk.act(&routed, "request_human", json!({})).await;

    // Manual: the same timing with A offline, then agent_enter.
    ok(
        &desk,
        Method::PATCH,
        &format!("/agents/{a}"),
        Some(json!({"status": 2})),
    )
    .await;
    let manual = desk.start(false).await;
    minutes(&mut desk, 1).await;
    desk.advance(30).await;
    desk.act(&manual, "request_human", json!({})).await;
    assert_eq!(owner(&desk, &manual).await, (None, 3, 2));
    desk.act(&manual, "agent_enter", json!({"agent_id": a})).await;

    let (r, m) = (desk.ticket(&routed).await, desk.ticket(&manual).await);
    for field in [
        "status",
        "ticket_type",
        "agent_owner",
        "agents",
        "bot_service_duration",
    ] {
        assert_eq!(r[field], m[field], "{field}");
    }
    assert_eq!(r["bot_service_duration"], json!(90));
    let entry = |t: &Value| t["agent_entry_time"].as_i64().unwrap() - t["created_at"].as_i64().unwrap();
    assert_eq!(entry(&r), entry(&m));
    let strip = |mut e: Value| {
        e.as_object_mut().unwrap().remove("at_ms");
        e
    };
    let (re, me) = (events(&desk, &routed).await, events(&desk, &manual).await);
    assert_eq!(re.len(), me.len());
    assert_eq!(
        strip(re.last().unwrap().clone()),
        strip(me.last().unwrap().clone()),
        "the same AgentEntered event"
    );
}

#[tokio::test]
async fn a_category_with_online_faqs_is_not_deleted_and_faqs_show_its_name() {
    let desk = Desk::new().await;
    let body = json!({"name": "Accounts", "parent_id": "0", "language": "en_us"});
    let category = ok(&desk, Method::POST, "/categories", Some(body)).await["category"].clone();
    let category_id = category["category_id"].as_str().unwrap().to_owned();
    let faq = json!({"faq": {"category_id": category_id, "question": "How do I reset my password?", "answer": "Open settings"}});
    let created = ok(&desk, Method::POST, "/faqs", Some(faq)).await;
    let faq_id = created["faq"]["faq_id"].as_str().unwrap().to_owned();
    let shown = ok(&desk, Method::GET, &format!("/faqs/{faq_id}"), None).await;
    assert_eq!(
        shown["faq"]["categories"][0]["name"],
        json!("Accounts"),
        "{shown}"
    );
    assert_eq!(shown["faq"]["categories"][0]["language"], json!("en_us"));

    let m = refused(
        &desk,
        Method::DELETE,
        &format!("/categories/{category_id}"),
        None,
        400,
        154000,
    )
    .await;
    assert!(m.as_str().unwrap().to_lowercase().contains("faq"), "{m}");
    ok(&desk, Method::GET, &format!("/categories/{category_id}"), None).await;

    // A deleted FAQ no longer holds its category.
    ok(&desk, Method::DELETE, &format!("/faqs/{faq_id}"), None).await;
    ok(&desk, Method::DELETE, &format!("/categories/{category_id}"), None).await;
}
