//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the endpoint and admin tables,
//! and real responses checked against the schemas it gives them.

use larkdesk_api::admin::{self, ROUTES};
use larkdesk_api::endpoints::{ENDPOINTS, Endpoint};
use serde_json::{Value, json};

use crate::common::TestServer;

async fn document(server: &TestServer) -> Value {
    // No credentials: the document is public, like /healthz.
    let r = server.send(server.http.get(server.url("/openapi.json"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    r.json()
}

/// The operation of `method path` in the document.
fn operation<'a>(doc: &'a Value, path: &str, method: &axum::http::Method) -> &'a Value {
    let op = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    op
}

/// A validator for the JSON schema at `pointer` (a JSON pointer into the document), with the
/// document's components to resolve `$ref`s against.
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    let schema = doc
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no schema at {pointer}"));
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"],
    });
    jsonschema::validator_for(&root).expect("the schema compiles")
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn response_schema(path: &str, method: &str, status: &str) -> String {
    format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        escape(path)
    )
}

#[tokio::test]
async fn the_document_lists_every_endpoint_and_admin_route_once() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc, larkdesk_api::openapi::document(), "served as built");
    let mut ids = std::collections::HashSet::new();
    for spec in ENDPOINTS {
        let op = operation(&doc, spec.path, &spec.method);
        assert_eq!(op["operationId"], format!("{:?}", spec.endpoint));
        assert!(ids.insert(op["operationId"].to_string()));
        assert!(op["responses"]["200"]["content"].is_object(), "{}", spec.path);
        // Every path parameter is declared.
        for name in spec
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{} {}: parameter {name}", spec.method, spec.path);
        }
        if !spec.scopes.is_empty() {
            assert_eq!(
                op["security"][0]["helpdesk_credential"],
                json!([]),
                "{}",
                spec.path
            );
            for status in ["400", "401", "404", "429", "500"] {
                assert!(op["responses"][status].is_object(), "{} {status}", spec.path);
            }
        }
    }
    for route in ROUTES {
        let op = operation(&doc, &format!("{}{}", admin::PREFIX, route.path), &route.method);
        assert_eq!(op["operationId"], format!("Admin{:?}", route.op));
        assert!(ids.insert(op["operationId"].to_string()));
        assert_eq!(op["security"], json!([{"admin_token": []}]));
    }
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    // The two tables, /healthz, /readyz and /openapi.json: nothing else, nothing twice.
    assert_eq!(operations, ENDPOINTS.len() + ROUTES.len() + 3);
    // Images are bytes, not JSON.
    let image =
        &operation(&doc, Endpoint::TicketImages.spec().path, &axum::http::Method::GET)["responses"]["200"];
    assert!(image["content"]["image/png"].is_object(), "{image}");
    assert!(image["content"]["application/json"].is_null(), "{image}");
    // Like /healthz, the document is not journaled.
    let r = server
        .admin_request(reqwest::Method::GET, "/journal", Value::Null)
        .await;
    let entries = r.json()["data"]["entries"].clone();
    assert!(r.json()["data"]["enabled"] == json!(true), "{}", r.text);
    assert!(
        !entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/openapi.json"),
        "{entries}"
    );
    // An unknown /open-apis path is Feishu's plain-text 404, which the document says.
    let r = server
        .send(server.http.get(server.url("/open-apis/helpdesk/v1/tickets/")))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        doc["components"]["responses"]["Error404"]["content"]["text/plain"]["schema"]["const"],
        r.text
    );
}

#[tokio::test]
async fn a_ticket_and_an_error_validate_against_their_schemas() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let path = Endpoint::GetTicket.spec().path;
    let ticket_schema = validator(&doc, &response_schema(path, "get", "200"));
    let demo = server.demo().clone();
    for id in &demo.ticket_ids {
        let r = server.demo_get_ticket(id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        if let Err(e) = ticket_schema.validate(&body) {
            panic!(
                "GET ticket does not match its schema: {e} at {}\n{body}",
                e.instance_path()
            );
        }
        // The check can fail: a renamed or retyped field does not match.
        let mut renamed = body.clone();
        let ticket = renamed["data"]["ticket"].take();
        renamed["data"]["tickets"] = ticket;
        assert!(!ticket_schema.is_valid(&renamed), "a renamed data.ticket passes");
        let mut retyped = body.clone();
        retyped["data"]["ticket"]["status"] = json!("1");
        assert!(!ticket_schema.is_valid(&retyped), "a string status passes");
        let mut missing = body.clone();
        missing["data"]["ticket"].as_object_mut().unwrap().remove("guest");
        assert!(!ticket_schema.is_valid(&missing), "a ticket without guest passes");
    }

    let r = server.demo_get_ticket("1").await;
    assert_eq!(r.status, 404, "{}", r.text);
    let error = validator(
        &doc,
        "/components/responses/Error404/content/application~1json/schema",
    );
    assert!(error.is_valid(&r.json()), "{}", r.text);
    assert!(!error.is_valid(&json!({"code": 154004, "msg": "Resource not found"})));

    // The token endpoint's two answers, both HTTP 200.
    let token_path = Endpoint::TenantAccessToken.spec().path;
    let token = validator(&doc, &response_schema(token_path, "post", "200"));
    let ok = server
        .post_raw(
            token_path,
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    assert!(token.is_valid(&ok.json()), "{}", ok.text);
    let refused = server.post_raw(token_path, "{}").await;
    assert_eq!((refused.status, refused.code()), (200, 10003));
    assert!(token.is_valid(&refused.json()), "{}", refused.text);
}

/// Requests schemathesis (openapi/run.sh) found answered with a 5xx.
#[tokio::test]
async fn requests_schemathesis_found_answering_5xx_do_not() {
    let server = TestServer::start().await;
    let token = server.demo_token().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let get = |path: String| {
        server
            .http
            .get(server.url(&path))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
    };
    // `time_start` of i64::MIN: `abs` overflowed (a panic, 500).
    for query in [
        format!("time_start={}", i64::MIN),
        format!("time_start={}&time_end={}", i64::MIN, i64::MIN),
        format!("time_end={}", i64::MAX),
    ] {
        let r = server
            .send(get(format!(
                "/open-apis/helpdesk/v1/tickets/{ticket}/messages?{query}"
            )))
            .await;
        assert_eq!((r.status, r.code()), (200, 0), "{query}: {}", r.text);
    }
}

/// Calls endpoints with the demo app and checks each 200 against the document, so a `data`
/// object whose keys or types change without the document fails here (without schemathesis).
struct Checked<'a> {
    server: &'a TestServer,
    doc: Value,
    token: String,
}

impl Checked<'_> {
    /// `endpoint` with its path parameters filled in order, asserting a 200 that validates.
    async fn call(&self, endpoint: Endpoint, params: &[&str], query: &str, body: Option<Value>) -> Value {
        let spec = endpoint.spec();
        let mut path = String::new();
        let mut params = params.iter();
        for segment in spec.path.split('/').skip(1) {
            path.push('/');
            if segment.starts_with('{') {
                path.push_str(params.next().expect("a value for each path parameter"));
            } else {
                path.push_str(segment);
            }
        }
        let mut request = self
            .server
            .http
            .request(spec.method.clone(), self.server.url(&format!("{path}{query}")))
            .header("Authorization", format!("Bearer {}", self.token))
            .header(
                "X-Lark-Helpdesk-Authorization",
                self.server.demo_helpdesk_header(),
            );
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let r = self.server.send(request).await;
        assert_eq!((r.status, r.code()), (200, 0), "{endpoint:?}: {}", r.text);
        let method = spec.method.as_str().to_ascii_lowercase();
        let schema = validator(&self.doc, &response_schema(spec.path, &method, "200"));
        let body = r.json();
        if let Err(e) = schema.validate(&body) {
            panic!("{endpoint:?}: {e} at {}\n{body}", e.instance_path());
        }
        body["data"].clone()
    }

    async fn admin(&self, path: &str) {
        let r = self
            .server
            .admin_request(reqwest::Method::GET, path, Value::Null)
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let full = format!("{}{path}", admin::PREFIX);
        let schema = validator(&self.doc, &response_schema(&full, "get", "200"));
        assert!(schema.is_valid(&r.json()), "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn answers_of_every_resource_validate_against_the_document() {
    use Endpoint as E;
    let server = TestServer::start().await;
    let c = Checked {
        doc: document(&server).await,
        token: server.demo_token().await,
        server: &server,
    };
    let ticket = server.demo().ticket_ids[0].clone();
    c.call(E::ListTickets, &[], "?page_size=5", None).await;
    c.call(E::ListTicketMessages, &[&ticket], "", None).await;
    let text = json!({"text": "hello"}).to_string();
    c.call(
        E::CreateTicketMessage,
        &[&ticket],
        "",
        Some(json!({"msg_type": "text", "content": text})),
    )
    .await;
    c.call(E::UpdateTicket, &[&ticket], "", Some(json!({"comment": "seen"})))
        .await;

    c.call(E::CustomizedFields, &[], "", None).await;
    let field = json!({"key_name": "k", "display_name": "K", "position": "1", "field_type": "string",
                       "description": "", "visible": true, "required": false});
    c.call(E::CreateTicketCustomizedField, &[], "", Some(field)).await;
    let fields = c.call(E::ListTicketCustomizedFields, &[], "", None).await;
    let field_id = fields["items"][0]["ticket_customized_field_id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.call(E::GetTicketCustomizedField, &[&field_id], "", None).await;

    let category = c
        .call(
            E::CreateCategory,
            &[],
            "",
            Some(json!({"name": "C", "parent_id": "0"})),
        )
        .await;
    let category_id = category["category"]["category_id"].as_str().unwrap().to_owned();
    c.call(E::ListCategories, &[], "", None).await;
    c.call(E::GetCategory, &[&category_id], "", None).await;
    let faq = json!({"faq": {"category_id": category_id, "question": "How?", "answer": "So."}});
    let faq = c.call(E::CreateFaq, &[], "", Some(faq)).await;
    let faq_id = faq["faq"]["faq_id"].as_str().unwrap().to_owned();
    c.call(E::GetFaq, &[&faq_id], "", None).await;
    c.call(E::ListFaqs, &[], "", None).await;
    c.call(E::SearchFaqs, &[], "?query=How", None).await;

    let skill = c
        .call(
            E::CreateAgentSkill,
            &[],
            "",
            Some(json!({"name": "S", "rules": [], "agent_ids": []})),
        )
        .await;
    let skill_id = skill["agent_skill_id"].as_str().unwrap().to_owned();
    c.call(E::GetAgentSkill, &[&skill_id], "", None).await;
    c.call(E::ListAgentSkills, &[], "", None).await;
    c.call(E::ListAgentSkillRules, &[], "", None).await;
    c.call(E::AgentEmails, &[], "", None).await;
    let users = server
        .admin_request(reqwest::Method::GET, "/users", Value::Null)
        .await
        .json();
    let agent = users["data"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["is_agent"] == true)
        .expect("the demo has an agent")["open_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let schedule = json!({"agent_schedules": [{"agent_id": agent, "agent_skill_ids": [skill_id],
        "schedule": [{"start_time": "00:00", "end_time": "24:00", "weekday": 9}]}]});
    c.call(E::CreateAgentSchedules, &[], "", Some(schedule)).await;
    c.call(E::ListAgentSchedules, &[], "", None).await;
    c.call(E::GetAgentSchedules, &[&agent], "", None).await;

    let guest = c.call(E::ListTickets, &[], "", None).await["tickets"][0]["guest"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = json!({"job_name": "J", "push_content": "{\"elements\":[]}", "push_type": 0,
                     "push_scope_type": 2, "user_list": [{"user_id": guest}]});
    let job = c.call(E::CreateNotification, &[], "", Some(job)).await;
    let job_id = job["notification_id"].as_str().unwrap().to_owned();
    c.call(E::GetNotification, &[&job_id], "", None).await;
    let events = json!({"events": [{"type": "helpdesk.ticket", "subtype": "ticket.created_v1"}]});
    c.call(E::SubscribeEvents, &[], "", Some(events)).await;

    for path in [
        "/tenants",
        "/apps",
        "/helpdesks",
        "/users",
        "/tickets",
        "/journal",
        "/snapshot",
    ] {
        c.admin(path).await;
    }
}
