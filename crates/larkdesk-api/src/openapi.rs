//! The OpenAPI 3.1 document of everything larkdesk serves, served at `GET /openapi.json`.
//!
//! It is generated, not written: the paths are the rows of [`ENDPOINTS`] and [`admin::ROUTES`]
//! (the tables the router is built from), and each operation's request body, query parameters
//! and response `data` come from the wire and request types through `utoipa`'s `ToSchema`,
//! chosen by an exhaustive `match` on the operation ([`feishu_io`], [`admin_io`]): a new
//! endpoint without a schema does not compile. The document is built once, on first request.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use larkdesk_wire::agents::{AgentSchedule, AgentSkill, AgentSkillRule, Category, CategoryFlat};
use larkdesk_wire::auth::{
    AppAccessTokenResponse, InternalTokenRequest, TenantAccessTokenResponse, TokenErrorResponse,
};
use larkdesk_wire::envelope::ErrorBody;
use larkdesk_wire::faqs::{FaqData, ListFaqsData, SearchFaqsData};
use larkdesk_wire::fields::{CustomizedFieldsData, ListTicketCustomizedFieldsData, TicketCustomizedField};
use larkdesk_wire::notifications::{CreateNotificationData, GetNotificationData, SubmitApproveData};
use larkdesk_wire::ticket::{
    GetTicketData, ListMessagesData, ListTicketsData, MessageIdData, StartServiceData, Ticket,
};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::admin::{self, AdminOp};
use crate::endpoints::{ENDPOINTS, Endpoint, HELPDESK_PREFIX, Spec};
use crate::routes;

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// `GET /openapi.json`: the document, built on the first request.
pub async fn serve() -> Response {
    static BYTES: OnceLock<bytes::Bytes> = OnceLock::new();
    let body = BYTES
        .get_or_init(|| bytes::Bytes::from(serde_json::to_vec(&document()).unwrap_or_default()))
        .clone();
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::json::CONTENT_TYPE),
    );
    response
}

/// The component schemas an operation refers to, gathered as operations are described.
#[derive(Default)]
struct Schemas(BTreeMap<String, Value>);

impl Schemas {
    /// A `$ref` to `T`'s schema, which is added with every schema it refers to. Two different
    /// types of one name would make a wrong document: that panics (a test builds the document).
    fn of<T: ToSchema>(&mut self) -> Value {
        let mut found = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut found);
        for (name, schema) in found {
            let schema = serde_json::to_value(schema).expect("a schema serializes");
            if let Some(known) = self.0.get(&name) {
                assert_eq!(known, &schema, "two different schemas are named {name}");
            }
            self.0.insert(name, schema);
        }
        schema_ref(&T::name())
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An object with exactly these properties, all present (and no other: these describe the
/// `data` objects handlers build with `json!`, so a renamed key fails the response checks).
fn object(properties: &[(&str, Value)]) -> Value {
    let props: Map<String, Value> = properties
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let required: Vec<&str> = properties.iter().map(|(k, _)| *k).collect();
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn integer() -> Value {
    json!({ "type": "integer", "format": "int64" })
}

/// An id of digits (tickets, FAQs, push jobs, customized fields): anything else is refused.
fn numeric_id() -> Value {
    json!({ "type": "string", "pattern": "^[0-9]{1,19}$" })
}

/// An integer within bounds (the server refuses the others with 400 / `154000`).
fn int_between(min: i64, max: i64) -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": max })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

/// `data: {}`: a write with nothing to return.
fn empty() -> Value {
    json!({ "type": "object", "maxProperties": 0 })
}

/// What an operation answers with on success.
enum Success {
    /// `{code: 0, msg, data}` with this `data`.
    Data(Value),
    /// A JSON body not wrapped in the envelope.
    Bare(Value),
    /// The bytes of an image, of the content type it was stored with.
    Image,
}

/// A query parameter.
struct Query {
    name: &'static str,
    schema: Value,
    required: bool,
    description: &'static str,
}

fn q(name: &'static str, schema: Value, description: &'static str) -> Query {
    Query {
        name,
        schema,
        required: false,
        description,
    }
}

fn q_required(name: &'static str, schema: Value, description: &'static str) -> Query {
    Query {
        required: true,
        ..q(name, schema, description)
    }
}

/// Page parameters of the ticket lists: `page` from 1, `page_size` from 1 to 200.
fn pages() -> [Query; 2] {
    [
        q(
            "page",
            int_between(1, i64::from(i32::MAX)),
            "page number, from 1 (default 1)",
        ),
        q(
            "page_size",
            int_between(1, 200),
            "items per page, 1 to 200 (default 20)",
        ),
    ]
}

/// Page-token parameters: `page_token` from the previous page, `page_size` from 1 to 100.
fn tokens() -> [Query; 2] {
    [
        q("page_token", string(), "the previous page's token"),
        q(
            "page_size",
            int_between(1, 100),
            "items per page, 1 to 100 (default 20)",
        ),
    ]
}

/// One operation's request body, query parameters and success answer.
struct Io {
    body: Option<Value>,
    query: Vec<Query>,
    success: Success,
    /// Whether the operation may answer 405 / `154005` (Feishu's "Method Forbidden").
    method_forbidden: bool,
}

fn io(body: Option<Value>, query: Vec<Query>, success: Success) -> Io {
    Io {
        body,
        query,
        success,
        method_forbidden: false,
    }
}

fn data(schema: Value) -> Success {
    Success::Data(schema)
}

fn user_id_type() -> Query {
    q(
        "user_id_type",
        json!({ "type": "string", "enum": ["open_id", "union_id", "user_id"] }),
        "the kind of user ids in the body (default open_id)",
    )
}

/// The request body, query parameters and response `data` of each Feishu endpoint.
fn feishu_io(endpoint: Endpoint, s: &mut Schemas) -> Io {
    use Endpoint as E;
    use routes::{agents, categories, events, faqs, fields, messages, notifications, tickets};
    let token = |s: &mut Schemas, ok: Value| {
        let failed = s.of::<TokenErrorResponse>();
        Success::Bare(json!({ "oneOf": [ok, failed] }))
    };
    match endpoint {
        E::TenantAccessToken => {
            let ok = s.of::<TenantAccessTokenResponse>();
            io(Some(s.of::<InternalTokenRequest>()), vec![], token(s, ok))
        }
        E::AppAccessToken => {
            let ok = s.of::<AppAccessTokenResponse>();
            io(Some(s.of::<InternalTokenRequest>()), vec![], token(s, ok))
        }
        E::StartService => io(
            Some(s.of::<tickets::StartServiceBody>()),
            vec![],
            data(s.of::<StartServiceData>()),
        ),
        E::GetTicket => io(None, vec![], data(s.of::<GetTicketData>())),
        E::UpdateTicket => io(Some(s.of::<tickets::UpdateTicket>()), vec![], data(empty())),
        E::ListTickets => {
            let ints = || array(integer());
            let mut query = vec![
                q("ticket_id", numeric_id(), "a ticket id"),
                q("agent_id", string(), "open_id of an agent of the ticket"),
                q("closed_by_id", string(), "open_id of who closed it"),
                q("type", integer(), "stage: 1 bot, 2 human"),
                q("channel", integer(), "channel, e.g. 9 Open API"),
                q("solved", integer(), "1 unsolved, 2 solved"),
                q("score", integer(), "1 unsatisfied, 2 ok, 3 satisfied"),
                q("status_list", ints(), "statuses, as repeated keys"),
                q("guest_name", string(), "the guest's name"),
                q("guest_id", string(), "the guest's open_id"),
                q("tags", array(string()), "tag names, as repeated keys"),
                q("create_time_start", integer(), "ms, with create_time_end"),
                q("create_time_end", integer(), "ms, inclusive"),
                q("update_time_start", integer(), "ms, with update_time_end"),
                q("update_time_end", integer(), "ms, inclusive"),
            ];
            query.extend(pages());
            io(None, query, data(s.of::<ListTicketsData>()))
        }
        E::AnswerUserQuery => io(Some(s.of::<tickets::AnswerUserQuery>()), vec![], data(empty())),
        E::CreateTicketMessage => io(
            Some(s.of::<messages::NewTicketMessage>()),
            vec![],
            data(s.of::<MessageIdData>()),
        ),
        E::ListTicketMessages => {
            let mut query = vec![
                q("time_start", integer(), "seconds (below 10^11) or ms, inclusive"),
                q("time_end", integer(), "seconds (below 10^11) or ms, inclusive"),
            ];
            query.extend(pages());
            io(None, query, data(s.of::<ListMessagesData>()))
        }
        E::TicketImages => io(
            None,
            vec![
                q_required("ticket_id", numeric_id(), "the ticket id"),
                q_required("msg_id", string(), "the message id"),
                q("index", integer(), "which image of the message, from 0"),
            ],
            Success::Image,
        ),
        E::BotMessage => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<messages::BotMessage>()),
                vec![q(
                    "user_id_type",
                    json!({ "type": "string", "enum": ["open_id"] }),
                    "only open_id",
                )],
                data(s.of::<MessageIdData>()),
            )
        },
        E::CustomizedFields => io(
            None,
            vec![q("visible_only", boolean(), "only the visible fields")],
            data(s.of::<CustomizedFieldsData>()),
        ),
        E::ListTicketCustomizedFields => io(
            // Every SDK sends `{"visible": bool}` as a body of this GET (docs/feishu-wire.md HAZARD 7).
            Some(s.of::<fields::ListBody>()),
            tokens().into(),
            data(s.of::<ListTicketCustomizedFieldsData>()),
        ),
        E::CreateTicketCustomizedField => io(Some(s.of::<fields::NewField>()), vec![], data(empty())),
        E::GetTicketCustomizedField => io(None, vec![], data(s.of::<TicketCustomizedField>())),
        E::UpdateTicketCustomizedField => io(Some(s.of::<fields::PatchBody>()), vec![], data(empty())),
        E::DeleteTicketCustomizedField => io(None, vec![], data(empty())),
        E::SubscribeEvents | E::UnsubscribeEvents => {
            io(Some(s.of::<events::Subscription>()), vec![], data(empty()))
        }
        E::PatchAgent => io(Some(s.of::<agents::StatusBody>()), vec![], data(empty())),
        E::AgentEmails => io(
            None,
            vec![],
            data(object(&[(
                "agents",
                json!({ "type": "string", "description": "a JSON object {open_id: email} as text" }),
            )])),
        ),
        E::GetAgentSchedules => io(
            None,
            vec![],
            data(object(&[("agent_schedule", s.of::<AgentSchedule>())])),
        ),
        E::PatchAgentSchedules => io(Some(s.of::<agents::PatchSchedulesBody>()), vec![], data(empty())),
        E::DeleteAgentSchedules => io(None, vec![], data(empty())),
        E::CreateAgentSchedules => io(Some(s.of::<agents::CreateSchedulesBody>()), vec![], data(empty())),
        E::ListAgentSchedules => io(
            None,
            vec![q("status", array(integer()), "statuses 1-4, as repeated keys")],
            data(object(&[("agent_schedules", array(s.of::<AgentSchedule>()))])),
        ),
        E::CreateAgentSkill => io(
            Some(s.of::<agents::SkillBody>()),
            vec![],
            data(object(&[("agent_skill_id", string())])),
        ),
        E::ListAgentSkills => io(
            None,
            vec![],
            data(object(&[("agent_skills", array(s.of::<AgentSkill>()))])),
        ),
        E::GetAgentSkill => io(
            None,
            vec![],
            data(object(&[("agent_skill", s.of::<AgentSkill>())])),
        ),
        E::PatchAgentSkill => io(Some(s.of::<agents::PatchSkillBody>()), vec![], data(empty())),
        E::DeleteAgentSkill => io(None, vec![], data(empty())),
        E::ListAgentSkillRules => io(
            None,
            vec![],
            data(object(&[("rules", array(s.of::<AgentSkillRule>()))])),
        ),
        E::CreateCategory => io(
            Some(s.of::<categories::CategoryBody>()),
            vec![],
            data(object(&[("category", s.of::<Category>())])),
        ),
        E::ListCategories => io(
            None,
            vec![
                q("lang", string(), "only categories of this language"),
                q("order_by", integer(), "1: by update time"),
                q("asc", boolean(), "ascending (default true)"),
            ],
            data(object(&[("categories", array(s.of::<Category>()))])),
        ),
        E::GetCategory => io(None, vec![], data(s.of::<CategoryFlat>())),
        E::PatchCategory => io(Some(s.of::<categories::CategoryBody>()), vec![], data(empty())),
        E::DeleteCategory => io(None, vec![], data(empty())),
        E::CreateFaq => io(Some(s.of::<faqs::Wrapped>()), vec![], data(s.of::<FaqData>())),
        E::ListFaqs => {
            let mut query = vec![
                q("category_id", string(), "only FAQs of this category"),
                q(
                    "status",
                    json!({ "type": "string", "enum": ["0", "1", "2"] }),
                    "1 online (default), 0 deleted, 2 deleted for good",
                ),
                q("search", string(), "words the question or answer contains"),
            ];
            query.extend(tokens());
            io(None, query, data(s.of::<ListFaqsData>()))
        }
        E::GetFaq => io(None, vec![], data(s.of::<FaqData>())),
        E::UpdateFaq => io(Some(s.of::<faqs::Wrapped>()), vec![], data(empty())),
        E::DeleteFaq => io(None, vec![], data(empty())),
        E::FaqImage => io(None, vec![], Success::Image),
        E::SearchFaqs => {
            let mut query = vec![
                q_required(
                    "query",
                    string(),
                    "the search text (base64 of it with base64=true)",
                ),
                q("base64", boolean(), "whether query is base64"),
            ];
            query.extend(tokens());
            io(None, query, data(s.of::<SearchFaqsData>()))
        }
        E::CreateNotification => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<notifications::JobBody>()),
                vec![user_id_type()],
                data(s.of::<CreateNotificationData>()),
            )
        },
        E::GetNotification => Io {
            method_forbidden: true,
            ..io(None, vec![user_id_type()], data(s.of::<GetNotificationData>()))
        },
        E::UpdateNotification => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<notifications::JobBody>()),
                vec![user_id_type()],
                data(empty()),
            )
        },
        E::PreviewNotification | E::CancelApproveNotification => Io {
            method_forbidden: true,
            ..io(None, vec![], data(empty()))
        },
        E::SubmitApproveNotification => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<notifications::SubmitBody>()),
                vec![],
                data(s.of::<SubmitApproveData>()),
            )
        },
        E::ExecuteSendNotification => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<notifications::ExecuteSendBody>()),
                vec![],
                data(empty()),
            )
        },
        E::CancelSendNotification => Io {
            method_forbidden: true,
            ..io(
                Some(s.of::<notifications::CancelSendBody>()),
                vec![],
                data(empty()),
            )
        },
    }
}

/// The request body, query parameters and response `data` of each admin operation. Admin
/// answers are larkdesk's own: their `data` is described loosely (see the README).
fn admin_io(op: AdminOp, s: &mut Schemas) -> Io {
    use crate::{admin as a, emulator as e};
    use AdminOp as A;
    use larkdesk_service::console;
    let any = || json!({ "type": "object" });
    let limit = || q("limit", integer(), "at most this many");
    match op {
        A::CreateTenant => io(
            Some(s.of::<a::NewTenant>()),
            vec![],
            data(s.of::<console::CreatedTenant>()),
        ),
        A::CreateApp => io(
            Some(s.of::<a::NewApp>()),
            vec![],
            data(s.of::<console::CreatedApp>()),
        ),
        A::CreateHelpdesk => io(
            Some(s.of::<a::NewHelpdesk>()),
            vec![],
            data(s.of::<console::CreatedHelpdesk>()),
        ),
        A::UpsertUser => io(
            Some(s.of::<a::NewUser>()),
            vec![],
            data(s.of::<larkdesk_wire::ticket::TicketUser>()),
        ),
        A::ListTenants => io(
            None,
            vec![],
            data(object(&[("tenants", array(s.of::<console::TenantInfo>()))])),
        ),
        A::ListApps => io(
            None,
            vec![],
            data(object(&[("apps", array(s.of::<console::AppInfo>()))])),
        ),
        A::ListHelpdesks => io(
            None,
            vec![],
            data(object(&[("helpdesks", array(s.of::<console::HelpdeskInfo>()))])),
        ),
        A::ListUsers => io(
            None,
            vec![q("tenant_key", string(), "only this tenant's users")],
            data(object(&[("users", array(s.of::<console::UserInfo>()))])),
        ),
        A::ListTickets => io(None, vec![limit()], data(object(&[("tickets", array(any()))]))),
        A::RotateAppSecret => io(
            None,
            vec![],
            data(object(&[("app_id", string()), ("app_secret", string())])),
        ),
        A::SetAppScopes => io(
            Some(s.of::<a::Scopes>()),
            vec![],
            data(object(&[("app_id", string()), ("scopes", array(string()))])),
        ),
        A::SetAppWireProfile => io(
            Some(s.of::<a::WireProfileBody>()),
            vec![],
            data(object(&[("app_id", string()), ("wire_profile", string())])),
        ),
        A::MintTenantToken => io(
            None,
            vec![],
            data(object(&[
                ("tenant_access_token", string()),
                ("expire", integer()),
            ])),
        ),
        A::MintUserToken => io(
            Some(s.of::<a::UserToken>()),
            vec![],
            data(object(&[("user_access_token", string()), ("expire", integer())])),
        ),
        A::RotateHelpdeskToken => io(
            None,
            vec![],
            data(object(&[("helpdesk_id", string()), ("helpdesk_token", string())])),
        ),
        A::ImportTicket => io(
            Some(s.of::<Ticket>()),
            vec![],
            data(object(&[("ticket_id", string())])),
        ),
        A::TicketEvents => io(None, vec![], data(object(&[("events", array(any()))]))),
        A::TicketAction => {
            let action = s.of::<e::ActionBody>();
            let answer = s.of::<e::BotAnswer>();
            io(
                Some(json!({ "anyOf": [action, answer] })),
                vec![],
                data(
                    json!({ "type": "object", "description": "bot_answer: {faq_ids}; the others: {ticket, message_id, event_id}" }),
                ),
            )
        }
        A::PutFaqImage => io(
            Some(s.of::<a::FaqImage>()),
            vec![],
            data(object(&[("image_key", string())])),
        ),
        A::DecideNotification => io(None, vec![], data(object(&[("status", integer())]))),
        A::RebuildProjections => io(
            None,
            vec![],
            data(s.of::<larkdesk_service::tickets::RebuildReport>()),
        ),
        A::SetAppEvents => io(Some(s.of::<a::AppEvents>()), vec![], data(any())),
        A::ClearAppEvents => io(None, vec![], data(empty())),
        A::ListDeliveries => io(
            None,
            vec![q("app_id", string(), "only this app's deliveries"), limit()],
            data(object(&[("deliveries", array(any()))])),
        ),
        A::AdvanceClock => io(
            Some(s.of::<a::Advance>()),
            vec![],
            data(object(&[("now_ms", integer())])),
        ),
        A::Reset => io(
            Some(s.of::<a::Reset>()),
            vec![],
            data(object(&[(
                "demo",
                json!({ "oneOf": [s.of::<console::DemoCredentials>(), { "type": "null" }] }),
            )])),
        ),
        A::Snapshot => io(
            None,
            vec![],
            Success::Bare(json!({
                "type": "object",
                "required": ["format", "version", "tables"],
                "properties": {
                    "format": { "const": "larkdesk-snapshot" },
                    "version": { "type": "integer" },
                    "tables": { "type": "object", "additionalProperties": array(any()) },
                },
            })),
        ),
        A::Restore => io(
            Some(json!({ "type": "object", "description": "a document GET /snapshot returned" })),
            vec![],
            data(empty()),
        ),
        A::Journal => io(
            None,
            vec![
                q(
                    "app_id",
                    string(),
                    "only this app's requests (empty: requests of no app)",
                ),
                q("log_id", string(), "the request with this X-Tt-Logid"),
                limit(),
            ],
            data(object(&[
                ("enabled", boolean()),
                ("capacity", integer()),
                ("entries", array(s.of::<crate::journal::Entry>())),
            ])),
        ),
        A::ClearJournal => io(
            None,
            vec![q("app_id", string(), "only this app's requests")],
            data(object(&[("cleared", integer())])),
        ),
    }
}

/// The `{name}` parameters of a path.
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = match name {
                "action" => json!({
                    "type": "string",
                    "enum": ["guest_message", "bot_message", "agent_message", "request_human",
                             "agent_enter", "agent_leave", "add_collaborator", "status", "close",
                             "reopen", "rate", "bot_answer"],
                }),
                "decision" => json!({ "type": "string", "enum": ["approve", "reject"] }),
                "ticket_id" | "notification_id" | "faq_id" => numeric_id(),
                // Categories' ids are digits too; other ids there are simply not found.
                "id" => numeric_id(),
                _ => string(),
            };
            json!({ "name": name, "in": "path", "required": true, "schema": schema })
        })
        .collect()
}

fn parameters(path: &str, query: &[Query]) -> Vec<Value> {
    let mut out = path_params(path);
    out.extend(query.iter().map(|q| {
        json!({
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": q.schema,
        })
    }));
    out
}

/// The responses every operation shares, by status, as references to `components/responses`.
fn error_refs(statuses: &[&str]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|status| {
            (
                (*status).to_owned(),
                json!({ "$ref": format!("#/components/responses/Error{status}") }),
            )
        })
        .collect()
}

fn log_id_header() -> Value {
    json!({
        "description": "the request's log id (also error.log_id)",
        "schema": { "type": "string" },
    })
}

fn success_response(success: &Success) -> Value {
    let json_body = |schema: Value| {
        json!({
            "description": "success",
            "headers": { "X-Tt-Logid": log_id_header() },
            "content": { "application/json": { "schema": schema } },
        })
    };
    match success {
        Success::Data(schema) => json_body(json!({
            "type": "object",
            "required": ["code", "msg", "data"],
            "properties": {
                "code": { "const": 0 },
                "msg": { "type": "string" },
                "data": schema,
            },
        })),
        Success::Bare(schema) => json_body(schema.clone()),
        Success::Image => {
            let binary = |media: &str| json!({ "schema": { "type": "string", "contentMediaType": media } });
            json!({
                "description": "the image's bytes, as an attachment",
                "headers": { "X-Tt-Logid": log_id_header() },
                "content": {
                    "image/png": binary("image/png"),
                    "image/jpeg": binary("image/jpeg"),
                    "image/gif": binary("image/gif"),
                    "application/octet-stream": binary("application/octet-stream"),
                },
            })
        }
    }
}

fn request_body(schema: Option<Value>) -> Option<Value> {
    // Bodies are optional on the wire: an empty body reads as `{}` (and is then refused when a
    // field is required).
    schema.map(|schema| {
        json!({
            "required": false,
            "content": { "application/json": { "schema": schema } },
        })
    })
}

fn feishu_operation(spec: &Spec, s: &mut Schemas) -> Value {
    let io = feishu_io(spec.endpoint, s);
    let short = spec.path.strip_prefix(HELPDESK_PREFIX);
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("{:?}", spec.endpoint)));
    op.insert(
        "summary".into(),
        json!(format!("{} {}", spec.method, short.unwrap_or(spec.path))),
    );
    let statuses: &[&str] = if short.is_some() {
        let mut description = format!("Scopes (any one): {}.", spec.scopes.join(", "));
        if let Some(limit) = spec.limit {
            description.push_str(&format!(
                " Rate limit: {}/s per app and tenant (bucket `{}`).",
                limit.per_second, limit.bucket
            ));
        }
        op.insert("description".into(), json!(description));
        op.insert("tags".into(), json!(["helpdesk"]));
        op.insert(
            "security".into(),
            json!([
                { "tenant_access_token": [], "helpdesk_credential": [] },
                { "user_access_token": [], "helpdesk_credential": [] },
            ]),
        );
        if io.method_forbidden {
            &["400", "401", "403", "404", "405", "408", "429", "500", "503"]
        } else {
            &["400", "401", "403", "404", "408", "429", "500", "503"]
        }
    } else {
        op.insert(
            "description".into(),
            json!("Custom apps only. Failures are HTTP 200 with a non-zero code (10003 invalid param, 10014 wrong secret, 155000 internal)."),
        );
        op.insert("tags".into(), json!(["auth"]));
        op.insert("security".into(), json!([]));
        &["400", "408", "500", "503"]
    };
    finish(op, spec.path, io, statuses)
}

fn finish(mut op: Map<String, Value>, path: &str, io: Io, statuses: &[&str]) -> Value {
    let params = parameters(path, &io.query);
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = request_body(io.body) {
        op.insert("requestBody".into(), body);
    }
    let mut responses = Map::new();
    responses.insert("200".into(), success_response(&io.success));
    responses.extend(error_refs(statuses));
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

fn admin_operation(route: &admin::AdminRoute, s: &mut Schemas) -> Value {
    let io = admin_io(route.op, s);
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("Admin{:?}", route.op)));
    op.insert(
        "summary".into(),
        json!(format!("{} {}", route.method, route.path)),
    );
    op.insert("tags".into(), json!(["admin"]));
    op.insert("security".into(), json!([{ "admin_token": [] }]));
    finish(
        op,
        route.path,
        io,
        &["400", "401", "403", "404", "408", "500", "503"],
    )
}

fn health_operation(id: &str, summary: &str, statuses: &[(&str, &str)]) -> Value {
    let responses: Map<String, Value> = statuses
        .iter()
        .map(|(status, description)| {
            (
                (*status).to_owned(),
                json!({
                    "description": description,
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": { "type": "string" },
                            "checks": { "type": "object", "additionalProperties": { "type": "string" } },
                        },
                    } } },
                }),
            )
        })
        .collect();
    json!({
        "operationId": id,
        "summary": summary,
        "tags": ["operations"],
        "security": [],
        "responses": responses,
    })
}

/// The error responses, by status, with the Feishu error envelope.
fn error_responses(s: &mut Schemas) -> Map<String, Value> {
    let error = s.of::<ErrorBody>();
    let json_error = |description: &str, extra_headers: Value| {
        let mut headers = json!({ "X-Tt-Logid": log_id_header() });
        if let (Some(h), Some(extra)) = (headers.as_object_mut(), extra_headers.as_object()) {
            h.extend(extra.clone());
        }
        json!({
            "description": description,
            "headers": headers,
            "content": { "application/json": { "schema": error } },
        })
    };
    let header = |description: &str| json!({ "description": description, "schema": { "type": "string" } });
    let mut out = Map::new();
    out.insert(
        "Error400".into(),
        json_error(
            "154000 bad request (body, path or query); 99991661 missing, 99991663 invalid, 99991668 invalid user access token; 99991672 missing scope (error.permission_violations); 150001 bad agent status",
            json!({}),
        ),
    );
    out.insert(
        "Error401".into(),
        json_error(
            "154001: the helpdesk credential (or the admin token) is missing or wrong",
            json!({}),
        ),
    );
    out.insert(
        "Error403".into(),
        json_error(
            "154003: not allowed (a store app, a guest's user token, clock control off)",
            json!({}),
        ),
    );
    let mut not_found = json_error(
        "154004: no such resource (JSON); under /open-apis an unknown path or method is Feishu's plain-text 404",
        json!({}),
    );
    not_found["content"]["text/plain"] = json!({ "schema": { "const": "404 page not found" } });
    out.insert("Error404".into(), not_found);
    out.insert(
        "Error405".into(),
        json_error("154005: Method Forbidden", json!({})),
    );
    out.insert(
        "Error408".into(),
        json_error(
            "154000: the body did not arrive within the body timeout",
            json!({}),
        ),
    );
    out.insert(
        "Error429".into(),
        json_error(
            "99991400: rate limited",
            json!({
                "x-ogw-ratelimit-limit": header("the window's quota"),
                "x-ogw-ratelimit-reset": header("seconds until the window resets"),
            }),
        ),
    );
    out.insert("Error500".into(), json_error("155000: internal error", json!({})));
    out.insert(
        "Error503".into(),
        json_error(
            "155000: the memory for request bodies is in use; retry",
            json!({ "Retry-After": header("seconds") }),
        ),
    );
    out
}

fn add(paths: &mut Map<String, Value>, path: &str, method: &axum::http::Method, op: Value) {
    let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
    item[method.as_str().to_ascii_lowercase()] = op;
}

/// The whole document.
pub fn document() -> Value {
    let mut s = Schemas::default();
    let mut paths = Map::new();
    for spec in ENDPOINTS {
        let op = feishu_operation(spec, &mut s);
        add(&mut paths, spec.path, &spec.method, op);
    }
    for route in admin::ROUTES {
        let op = admin_operation(route, &mut s);
        add(
            &mut paths,
            &format!("{}{}", admin::PREFIX, route.path),
            &route.method,
            op,
        );
    }
    let get = axum::http::Method::GET;
    add(
        &mut paths,
        crate::health::HEALTHZ,
        &get,
        health_operation("Healthz", "the process serves HTTP", &[("200", "up")]),
    );
    add(
        &mut paths,
        crate::health::READYZ,
        &get,
        health_operation(
            "Readyz",
            "the database (and Redis, when configured) answers and is migrated",
            &[("200", "ready"), ("503", "not ready; checks names what failed")],
        ),
    );
    add(
        &mut paths,
        PATH,
        &get,
        json!({
            "operationId": "OpenApi",
            "summary": "this document",
            "tags": ["operations"],
            "security": [],
            "responses": { "200": {
                "description": "the OpenAPI document",
                "content": { "application/json": { "schema": { "type": "object" } } },
            } },
        }),
    );
    let responses = error_responses(&mut s);
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("larkdesk")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The Feishu (Lark) Helpdesk v1 Open API as larkdesk serves it, and larkdesk's admin API. \
                     Wire facts: docs/feishu-wire.md.",
                ))
                .build(),
        )
        .build();
    doc.paths = utoipa::openapi::Paths::new();
    let mut doc = serde_json::to_value(doc).expect("the document serializes");
    doc["paths"] = Value::Object(paths);
    doc["components"] = json!({
        "schemas": s.0,
        "responses": responses,
        "securitySchemes": {
            "tenant_access_token": {
                "type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer t-… from POST /open-apis/auth/v3/tenant_access_token/internal",
            },
            "user_access_token": {
                "type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer u-… (an agent's user access token; minted by the admin API)",
            },
            "helpdesk_credential": {
                "type": "apiKey", "in": "header", "name": "X-Lark-Helpdesk-Authorization",
                "description": "base64(helpdesk_id:helpdesk_token), with or without a leading `Bearer `",
            },
            "admin_token": {
                "type": "http", "scheme": "bearer",
                "description": "Authorization: Bearer <admin token> (printed at first start, or --admin-token)",
            },
        },
    });
    doc["tags"] = json!([
        { "name": "auth", "description": "access tokens" },
        { "name": "helpdesk", "description": format!("Feishu Helpdesk v1, under {HELPDESK_PREFIX}") },
        { "name": "admin", "description": format!("larkdesk's admin API, under {}", admin::PREFIX) },
        { "name": "operations", "description": "health and this document" },
    ]);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_and_admin_route_is_one_operation() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let ops = |path: &str, method: &axum::http::Method| {
            doc["paths"][path][method.as_str().to_ascii_lowercase()].clone()
        };
        for spec in ENDPOINTS {
            let op = ops(spec.path, &spec.method);
            assert_eq!(op["operationId"], format!("{:?}", spec.endpoint));
        }
        for route in admin::ROUTES {
            let op = ops(&format!("{}{}", admin::PREFIX, route.path), &route.method);
            assert_eq!(op["operationId"], format!("Admin{:?}", route.op));
        }
        let count: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(count, ENDPOINTS.len() + admin::ROUTES.len() + 3);
        // Every reference names a schema or response of the document.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = &reference[..reference.find('"').unwrap()];
            let (kind, name) = target.split_once('/').unwrap();
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling $ref {target}"
            );
        }
    }
}
