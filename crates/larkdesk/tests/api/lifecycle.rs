//! Ticket lifecycle scenarios driven over HTTP with a frozen, advanced clock, asserting every
//! derived duration of the resulting ticket.

use serde_json::{Value, json};

use crate::common::{Response, TestServer, assert_admin_error};

pub struct Desk {
    pub server: TestServer,
    pub token: String,
    pub header: String,
    pub helpdesk_id: String,
    pub tenant_key: String,
    pub app_id: String,
    pub guest: String,
    pub agent_a: String,
    pub agent_b: String,
}

impl Desk {
    pub async fn new() -> Self {
        Self::with_args(&["--clock-control"]).await
    }

    pub async fn with_args(args: &[&str]) -> Self {
        let server = TestServer::start_with(args).await;
        let demo = server.demo().clone();
        let user =
            |name: &str, agent: bool| json!({"tenant_key": demo.tenant_key, "name": name, "is_agent": agent});
        let guest = server.admin("/users", user("Guest", false)).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let agent_a = server.admin("/users", user("Agent A", true)).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let agent_b = server.admin("/users", user("Agent B", true)).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = server.demo_token().await;
        let header = server.demo_helpdesk_header();
        Self {
            token,
            header,
            helpdesk_id: demo.helpdesk_id,
            tenant_key: demo.tenant_key,
            app_id: demo.app_id,
            guest,
            agent_a,
            agent_b,
            server,
        }
    }

    pub fn feishu(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .http
            .request(method, self.server.url(&format!("/open-apis/helpdesk/v1{path}")))
            .bearer_auth(&self.token)
            .header("X-Lark-Helpdesk-Authorization", &self.header)
    }

    /// Open a ticket for the guest through `POST /start_service`; returns its id.
    pub async fn start(&self, human_service: bool) -> String {
        let r = self
            .server
            .send(
                self.feishu(reqwest::Method::POST, "/start_service")
                    .body(json!({"open_id": self.guest, "human_service": human_service}).to_string()),
            )
            .await;
        assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
        let data = &r.json()["data"];
        assert!(data["chat_id"].as_str().unwrap().starts_with("oc_"));
        if human_service {
            return data["ticket_id"].as_str().unwrap().to_owned();
        }
        assert!(
            data.get("ticket_id").is_none(),
            "ticket_id only for human service"
        );
        let r = self
            .server
            .send(self.feishu(
                reqwest::Method::GET,
                &format!("/tickets?guest_id={}&page_size=1", self.guest),
            ))
            .await;
        r.json()["data"]["tickets"][0]["ticket_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn advance(&self, seconds: i64) {
        if seconds > 0 {
            self.server
                .admin("/clock/advance", json!({"seconds": seconds}))
                .await;
        }
    }

    pub async fn act_raw(&self, ticket: &str, action: &str, body: Value) -> Response {
        self.server
            .admin_raw(
                &format!("/helpdesks/{}/tickets/{ticket}/{action}", self.helpdesk_id),
                body,
            )
            .await
    }

    pub async fn act(&self, ticket: &str, action: &str, body: Value) -> Value {
        let r = self.act_raw(ticket, action, body.clone()).await;
        assert_eq!((r.status, r.code()), (200, 0), "{action} {body}: {}", r.text);
        r.json()["data"].clone()
    }

    pub async fn ticket(&self, id: &str) -> Value {
        let r = self
            .server
            .send(self.feishu(reqwest::Method::GET, &format!("/tickets/{id}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["data"]["ticket"].clone()
    }

    pub async fn user_token(&self, open_id: &str) -> String {
        let data = self
            .server
            .admin(
                &format!("/tenants/{}/users/{open_id}/user_access_token", self.tenant_key),
                json!({"app_id": self.app_id}),
            )
            .await;
        data["user_access_token"].as_str().unwrap().to_owned()
    }
}

/// What a scenario's ticket must show at the end. Offsets are seconds after creation.
#[derive(Debug, Clone, Copy, Default)]
struct Expect {
    status: i64,
    ticket_type: i64,
    bot_service_duration: i64,
    agent_first_response_duration: i64,
    agent_service_duration: f64,
    agent_resolution_time: i64,
    actual_processing_time: i64,
    entry_at: Option<i64>,
    first_response_at: Option<i64>,
    last_response_at: Option<i64>,
    closed_at: Option<i64>,
}

/// A step: advance the clock by N seconds, then perform an action. Agent names "A"/"B" in the
/// body's `agent_id` are replaced by the desk's agents.
type Step = (i64, &'static str, Value);

async fn run_scenario(name: &str, human_service: bool, steps: Vec<Step>, want: Expect) {
    let desk = Desk::new().await;
    let id = desk.start(human_service).await;
    let created = desk.ticket(&id).await["created_at"].as_i64().unwrap();
    for (advance, action, mut body) in steps {
        desk.advance(advance).await;
        if let Some(agent) = body.get("agent_id").and_then(Value::as_str) {
            let real = if agent == "A" {
                desk.agent_a.clone()
            } else {
                desk.agent_b.clone()
            };
            body["agent_id"] = json!(real);
        }
        desk.act(&id, action, body).await;
    }
    let t = desk.ticket(&id).await;
    let at = |offset: Option<i64>| json!(offset.map_or(0, |s| created + s * 1000));
    assert_eq!(t["status"], json!(want.status), "{name}: status");
    assert_eq!(t["ticket_type"], json!(want.ticket_type), "{name}: ticket_type");
    assert_eq!(
        t["bot_service_duration"],
        json!(want.bot_service_duration),
        "{name}: bot_service_duration"
    );
    assert_eq!(
        t["agent_first_response_duration"],
        json!(want.agent_first_response_duration),
        "{name}: agent_first_response_duration"
    );
    assert_eq!(
        t["agent_service_duration"].as_f64(),
        Some(want.agent_service_duration),
        "{name}: agent_service_duration"
    );
    assert!(
        t["agent_service_duration"].is_f64(),
        "{name}: agent_service_duration is a float"
    );
    assert_eq!(
        t["agent_resolution_time"],
        json!(want.agent_resolution_time),
        "{name}: agent_resolution_time"
    );
    assert_eq!(
        t["actual_processing_time"],
        json!(want.actual_processing_time),
        "{name}: actual_processing_time"
    );
    assert_eq!(
        t["agent_entry_time"],
        at(want.entry_at),
        "{name}: agent_entry_time"
    );
    assert_eq!(
        t["agent_first_response_time"],
        at(want.first_response_at),
        "{name}: agent_first_response_time"
    );
    assert_eq!(
        t["agent_last_response_time"],
        at(want.last_response_at),
        "{name}: agent_last_response_time"
    );
    assert_eq!(t["closed_at"], at(want.closed_at), "{name}: closed_at");

    // The projection is exactly what the log implies.
    let report = desk.server.admin("/rebuild_projections", json!({})).await;
    assert_eq!(report["changed"], json!(0), "{name}: rebuild changed nothing");
    assert_eq!(desk.ticket(&id).await, t, "{name}: rebuild is identical");
}

fn guest_says() -> Value {
    json!({"content": "hello"})
}

fn agent(name: &str) -> Value {
    json!({"agent_id": name})
}

fn agent_says(name: &str) -> Value {
    json!({"agent_id": name, "content": "on it"})
}

#[tokio::test]
async fn s01_bot_only_ticket_closed_by_bot() {
    let steps = vec![
        (30, "guest_message", guest_says()),
        (10, "bot_message", guest_says()),
        (60, "close", json!({"by": "bot"})),
    ];
    let want = Expect {
        status: 50,
        ticket_type: 1,
        closed_at: Some(100),
        ..Default::default()
    };
    run_scenario("bot-only", false, steps, want).await;
}

#[tokio::test]
async fn s02_bot_ticket_closed_by_the_user() {
    let steps = vec![
        (5, "guest_message", guest_says()),
        (20, "close", json!({"by": "user"})),
    ];
    let want = Expect {
        status: 52,
        ticket_type: 1,
        closed_at: Some(25),
        ..Default::default()
    };
    run_scenario("user-close", false, steps, want).await;
}

#[tokio::test]
async fn s03_human_service_starts_queued() {
    let want = Expect {
        status: 3,
        ticket_type: 2,
        ..Default::default()
    };
    run_scenario("human-service", true, vec![], want).await;
}

#[tokio::test]
async fn s04_full_agent_flow() {
    let steps = vec![
        (120, "request_human", json!({})),
        (60, "agent_enter", agent("A")),
        (30, "agent_message", agent_says("A")),
        (600, "agent_message", agent_says("A")),
        (300, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        bot_service_duration: 180,
        agent_first_response_duration: 30,
        agent_service_duration: 10.5,
        agent_resolution_time: 930,
        actual_processing_time: 930,
        entry_at: Some(180),
        first_response_at: Some(210),
        last_response_at: Some(810),
        closed_at: Some(1110),
    };
    run_scenario("full-agent-flow", false, steps, want).await;
}

#[tokio::test]
async fn s05_pending_span_is_excluded_from_processing_time() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (60, "agent_message", agent_says("A")),
        (60, "status", json!({"status": 4, "agent_id": "A"})),
        (600, "status", json!({"status": 2, "agent_id": "A"})),
        (60, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_first_response_duration: 60,
        agent_service_duration: 1.0,
        agent_resolution_time: 780,
        actual_processing_time: 180,
        entry_at: Some(0),
        first_response_at: Some(60),
        last_response_at: Some(60),
        closed_at: Some(780),
        ..Default::default()
    };
    run_scenario("pending-span", true, steps, want).await;
}

#[tokio::test]
async fn s06_pending_at_close_ends_at_close() {
    let steps = vec![
        (10, "agent_enter", agent("A")),
        (100, "status", json!({"status": 4})),
        (500, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        bot_service_duration: 10,
        agent_resolution_time: 600,
        actual_processing_time: 100,
        entry_at: Some(10),
        closed_at: Some(610),
        ..Default::default()
    };
    run_scenario("pending-at-close", true, steps, want).await;
}

#[tokio::test]
async fn s07_two_pending_spans() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (100, "status", json!({"status": 4})),
        (200, "status", json!({"status": 2})),
        (100, "status", json!({"status": 4})),
        (300, "status", json!({"status": 2})),
        (50, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_resolution_time: 750,
        actual_processing_time: 250,
        entry_at: Some(0),
        closed_at: Some(750),
        ..Default::default()
    };
    run_scenario("two-pending-spans", true, steps, want).await;
}

#[tokio::test]
async fn s08_waiting_for_user_does_not_pause_the_clock() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (100, "status", json!({"status": 5})),
        (400, "status", json!({"status": 2})),
        (100, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_resolution_time: 600,
        actual_processing_time: 600,
        entry_at: Some(0),
        closed_at: Some(600),
        ..Default::default()
    };
    run_scenario("waiting-for-user", true, steps, want).await;
}

#[tokio::test]
async fn s09_reopen_counts_from_first_entry_and_excludes_the_closed_gap() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (100, "close", json!({"by": "agent", "agent_id": "A"})),
        (1000, "reopen", json!({})),
        (200, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_resolution_time: 1300,
        actual_processing_time: 300,
        entry_at: Some(0),
        closed_at: Some(1300),
        ..Default::default()
    };
    run_scenario("reopen", true, steps, want).await;
}

#[tokio::test]
async fn s10_agent_reassignment_keeps_the_first_entry() {
    let steps = vec![
        (20, "agent_enter", agent("A")),
        (60, "agent_leave", agent("A")),
        (120, "agent_enter", agent("B")),
        (30, "agent_message", agent_says("B")),
        (100, "close", json!({"by": "agent", "agent_id": "B"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        bot_service_duration: 20,
        agent_first_response_duration: 210,
        agent_service_duration: 3.5,
        agent_resolution_time: 310,
        actual_processing_time: 310,
        entry_at: Some(20),
        first_response_at: Some(230),
        last_response_at: Some(230),
        closed_at: Some(330),
    };
    run_scenario("reassignment", true, steps, want).await;
}

#[tokio::test]
async fn s11_agent_entered_but_never_replied() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (500, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_resolution_time: 500,
        actual_processing_time: 500,
        entry_at: Some(0),
        closed_at: Some(500),
        ..Default::default()
    };
    run_scenario("never-replied", true, steps, want).await;
}

#[tokio::test]
async fn s12_human_requested_but_closed_by_bot_before_any_agent() {
    let steps = vec![
        (60, "request_human", json!({})),
        (600, "close", json!({"by": "bot"})),
    ];
    let want = Expect {
        status: 50,
        ticket_type: 2,
        closed_at: Some(660),
        ..Default::default()
    };
    run_scenario("queued-then-bot-close", false, steps, want).await;
}

#[tokio::test]
async fn s13_user_closes_a_human_ticket() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (45, "agent_message", agent_says("A")),
        (15, "close", json!({"by": "user"})),
    ];
    let want = Expect {
        status: 52,
        ticket_type: 2,
        agent_first_response_duration: 45,
        agent_service_duration: 0.75,
        agent_resolution_time: 60,
        actual_processing_time: 60,
        entry_at: Some(0),
        first_response_at: Some(45),
        last_response_at: Some(45),
        closed_at: Some(60),
        ..Default::default()
    };
    run_scenario("user-close-human", true, steps, want).await;
}

#[tokio::test]
async fn s14_pending_then_reopen_after_close() {
    let steps = vec![
        (0, "agent_enter", agent("A")),
        (100, "status", json!({"status": 4})),
        (100, "close", json!({"by": "agent", "agent_id": "A"})),
        (100, "reopen", json!({})),
        (50, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        agent_resolution_time: 350,
        actual_processing_time: 150,
        entry_at: Some(0),
        closed_at: Some(350),
        ..Default::default()
    };
    run_scenario("pending-close-reopen", true, steps, want).await;
}

#[tokio::test]
async fn s15_two_agents_reply() {
    let steps = vec![
        (10, "agent_enter", agent("A")),
        (10, "agent_enter", agent("B")),
        (20, "agent_message", agent_says("B")),
        (40, "agent_message", agent_says("A")),
        (30, "close", json!({"by": "agent", "agent_id": "A"})),
    ];
    let want = Expect {
        status: 51,
        ticket_type: 2,
        bot_service_duration: 10,
        agent_first_response_duration: 30,
        agent_service_duration: 1.17,
        agent_resolution_time: 100,
        actual_processing_time: 100,
        entry_at: Some(10),
        first_response_at: Some(40),
        last_response_at: Some(80),
        closed_at: Some(110),
    };
    run_scenario("two-agents", true, steps, want).await;
}

#[tokio::test]
async fn s16_open_ticket_has_no_resolution_yet() {
    let steps = vec![
        (5, "agent_enter", agent("A")),
        (25, "agent_message", agent_says("A")),
    ];
    let want = Expect {
        status: 2,
        ticket_type: 2,
        bot_service_duration: 5,
        agent_first_response_duration: 25,
        agent_service_duration: 0.42,
        entry_at: Some(5),
        first_response_at: Some(30),
        last_response_at: Some(30),
        ..Default::default()
    };
    run_scenario("open", true, steps, want).await;
}

#[tokio::test]
async fn rating_reassignment_and_people_show_in_the_ticket() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_b}))
        .await;
    desk.act(&id, "agent_leave", json!({"agent_id": desk.agent_b}))
        .await;
    desk.act(&id, "close", json!({"by": "agent", "agent_id": desk.agent_a}))
        .await;
    let reason = json!({"zh_cn": "答案看不懂", "en_us": "I don't understand", "ja_jp": "回答が複雑すぎる"});
    desk.act(&id, "rate", json!({"score": 1, "dissatisfaction_reason": reason}))
        .await;
    let t = desk.ticket(&id).await;
    assert_eq!(t["score"], json!(1));
    assert_eq!(t["dissatisfaction_reason"], reason);
    assert_eq!(t["agents"].as_array().unwrap().len(), 1);
    assert_eq!(t["agents"][0]["id"], json!(desk.agent_a));
    assert_eq!(
        t["agents"][0]["name"],
        json!("Agent A"),
        "profiles come from the directory"
    );
    assert_eq!(t["agent_owner"]["id"], json!(desk.agent_a));
    assert_eq!(t["closed_by"]["name"], json!("Agent A"));
    assert_eq!(t["guest"]["name"], json!("Guest"));
    assert!(t["updated_at"].as_i64().unwrap() > 0);
    let r = desk.act_raw(&id, "rate", json!({"score": 9})).await;
    assert_admin_error(&r, 400, 154000);
}

#[tokio::test]
async fn invalid_transitions_are_refused_and_change_nothing() {
    let desk = Desk::new().await;
    let id = desk.start(true).await;
    desk.act(&id, "close", json!({"by": "user"})).await;
    let before = desk.ticket(&id).await;
    let events_before = desk
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
        .await
        .json()["data"]["events"]
        .as_array()
        .unwrap()
        .len();
    for (action, body) in [
        ("guest_message", guest_says()),
        ("close", json!({"by": "user"})),
        ("agent_enter", json!({"agent_id": desk.agent_a})),
        ("status", json!({"status": 2})),
        ("agent_leave", json!({"agent_id": desk.agent_a})),
        ("agent_enter", json!({"agent_id": desk.guest})),
        ("nonsense", json!({})),
    ] {
        let r = desk.act_raw(&id, action, body).await;
        assert!(r.status == 400 || r.status == 404, "{action}: {}", r.text);
    }
    assert_eq!(desk.ticket(&id).await, before);
    let events_after = desk
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
        .await
        .json()["data"]["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events_after, events_before, "a refused change appends nothing");
}

#[tokio::test]
async fn rebuild_restores_a_damaged_projection_from_the_log() {
    // The damage is done behind the server's back: read the database, not the ticket cache.
    let desk = Desk::with_args(&["--clock-control", "--ticket-cache-ms", "0"]).await;
    let id = desk.start(true).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.advance(100).await;
    desk.act(
        &id,
        "agent_message",
        json!({"agent_id": desk.agent_a, "content": "x"}),
    )
    .await;
    desk.act(&id, "close", json!({"by": "agent", "agent_id": desk.agent_a}))
        .await;
    let good = desk.ticket(&id).await;

    // Damage the projection behind the server's back: the log still has the truth.
    desk.server
        .sql(&format!("UPDATE tickets SET status = 2, agent_resolution_time = 0, agent_ids = '[]' WHERE ticket_id = {id}"))
        .await;
    desk.server.sql("DELETE FROM ticket_messages").await;
    // Without its render, a GET reads the damaged projection.
    desk.server
        .sql(&format!(
            "UPDATE tickets SET render = NULL, render_directory_version = NULL WHERE ticket_id = {id}"
        ))
        .await;
    assert_ne!(desk.ticket(&id).await, good);

    // The CLI rebuild, on the same database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
        .args([
            "--database-url",
            &desk.server.db_url,
            "admin",
            "rebuild-projections",
        ])
        .env("LARKDESK_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changed"], json!(1));
    assert!(report["tickets"].as_u64().unwrap() >= 3);
    assert_eq!(
        desk.ticket(&id).await,
        good,
        "rebuilt from the log, identical to before"
    );
    let messages = desk
        .server
        .send(desk.feishu(reqwest::Method::GET, &format!("/tickets/{id}/messages")))
        .await;
    assert_eq!(messages.json()["data"]["total"], json!(1));
}

/// A GET is served from the render the last write kept: it must show exactly what reading the
/// projection shows, through every kind of change.
#[tokio::test]
async fn renders_show_exactly_what_the_projection_shows() {
    let desk = Desk::with_args(&["--clock-control", "--ticket-cache-ms", "0", "--no-rate-limit"]).await;
    let id = desk.start(true).await;
    let mut seen = vec![];
    let mut check = async |desk: &Desk, step: &str| {
        let rendered = desk.ticket(&id).await;
        desk.server
            .sql(&format!(
                "UPDATE tickets SET render = NULL, render_directory_version = NULL WHERE ticket_id = {id}"
            ))
            .await;
        let projected = desk.ticket(&id).await;
        assert_eq!(rendered, projected, "after {step}");
        seen.push(rendered);
    };
    check(&desk, "start_service").await;
    desk.advance(7).await;
    for (action, body) in [
        ("agent_enter", json!({"agent_id": desk.agent_a})),
        ("guest_message", json!({"content": "help"})),
        (
            "agent_message",
            json!({"agent_id": desk.agent_a, "content": "on it"}),
        ),
        ("add_collaborator", json!({"user_id": desk.agent_b})),
        ("close", json!({"by": "agent", "agent_id": desk.agent_a})),
        ("reopen", json!({})),
        ("close", json!({"by": "user"})),
        ("rate", json!({"score": 1, "dissatisfaction_reason": ["slow"]})),
    ] {
        desk.advance(11).await;
        desk.act(&id, action, body).await;
        check(&desk, action).await;
    }
    assert_ne!(seen.first(), seen.last(), "the changes changed the ticket");
}

/// A render names people as the directory had them; a profile changed since is shown at once
/// (the render is stale and the projection is read), and the next write renders it anew.
#[tokio::test]
async fn a_changed_profile_shows_at_once_on_rendered_tickets() {
    let desk = Desk::with_args(&["--clock-control", "--ticket-cache-ms", "0"]).await;
    let id = desk.start(true).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    assert_eq!(desk.ticket(&id).await["agents"][0]["name"], json!("Agent A"));
    let renamed =
        json!({"tenant_key": desk.tenant_key, "id": desk.agent_a, "name": "Agent Renamed", "is_agent": true});
    desk.server.admin("/users", renamed.clone()).await;
    assert_eq!(
        desk.ticket(&id).await["agents"][0]["name"],
        json!("Agent Renamed")
    );
    desk.act(&id, "guest_message", json!({"content": "still there?"}))
        .await;
    // Rendered anew: the render shows the new name even with the projection's people gone.
    desk.server
        .sql(&format!(
            "UPDATE tickets SET agent_ids = '[]' WHERE ticket_id = {id}"
        ))
        .await;
    assert_eq!(
        desk.ticket(&id).await["agents"][0]["name"],
        json!("Agent Renamed")
    );
    // A profile written again unchanged leaves renders current.
    desk.server.admin("/users", renamed).await;
    assert_eq!(
        desk.ticket(&id).await["agents"][0]["name"],
        json!("Agent Renamed"),
        "still the render (the projection's agents were emptied above)"
    );
}
