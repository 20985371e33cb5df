//! Every Feishu endpoint larkdesk serves, in one table: method, path, the scopes that admit a
//! caller (any one of them) and the rate-limit bucket. The router ([`crate::router`]), the
//! rate limiter ([`crate::ratelimit`]) and the README's endpoint table ([`markdown_table`]) are
//! all made from it, so they cannot disagree.

use axum::http::Method;
use larkdesk_domain::scopes::{HELPDESK_ACCESS, HELPDESK_ALL, HELPDESK_ALL_READONLY};

/// The helpdesk API's path prefix.
pub const HELPDESK_PREFIX: &str = "/open-apis/helpdesk/v1";

pub const READ: &[&str] = &[HELPDESK_ALL_READONLY, HELPDESK_ALL];
pub const WRITE: &[&str] = &[HELPDESK_ALL];
const ACCESS: &[&str] = &[HELPDESK_ACCESS, HELPDESK_ALL];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    TenantAccessToken,
    AppAccessToken,
    StartService,
    GetTicket,
    UpdateTicket,
    ListTickets,
    AnswerUserQuery,
    CreateTicketMessage,
    ListTicketMessages,
    TicketImages,
    BotMessage,
    CustomizedFields,
    ListTicketCustomizedFields,
    CreateTicketCustomizedField,
    GetTicketCustomizedField,
    UpdateTicketCustomizedField,
    DeleteTicketCustomizedField,
    SubscribeEvents,
    UnsubscribeEvents,
    PatchAgent,
    AgentEmails,
    GetAgentSchedules,
    PatchAgentSchedules,
    DeleteAgentSchedules,
    CreateAgentSchedules,
    ListAgentSchedules,
    CreateAgentSkill,
    ListAgentSkills,
    GetAgentSkill,
    PatchAgentSkill,
    DeleteAgentSkill,
    ListAgentSkillRules,
    CreateCategory,
    ListCategories,
    GetCategory,
    PatchCategory,
    DeleteCategory,
    CreateFaq,
    ListFaqs,
    GetFaq,
    UpdateFaq,
    DeleteFaq,
    FaqImage,
    SearchFaqs,
    CreateNotification,
    GetNotification,
    UpdateNotification,
    PreviewNotification,
    SubmitApproveNotification,
    CancelApproveNotification,
    ExecuteSendNotification,
    CancelSendNotification,
}

/// A per-second limit per app × tenant, as Feishu counts them. Endpoints may share a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The name used in `--rate-limit NAME=N`.
    pub bucket: &'static str,
    pub per_second: u32,
    /// Whether Feishu documents the number; the others Feishu calls "special" without a
    /// number, and larkdesk gives them 100/s.
    pub documented: bool,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub endpoint: Endpoint,
    pub method: Method,
    /// The full path, with `{name}` for path parameters (axum's syntax).
    pub path: &'static str,
    /// Any one of these admits the caller; none for the token endpoints (no token yet).
    pub scopes: &'static [&'static str],
    pub limit: Option<Limit>,
}

const fn limit(bucket: &'static str, per_second: u32, documented: bool) -> Option<Limit> {
    Some(Limit {
        bucket,
        per_second,
        documented,
    })
}

const fn spec(
    endpoint: Endpoint,
    method: Method,
    path: &'static str,
    scopes: &'static [&'static str],
    limit: Option<Limit>,
) -> Spec {
    Spec {
        endpoint,
        method,
        path,
        scopes,
        limit,
    }
}

const FIELDS: Option<Limit> = limit("ticket_customized_fields", 100, false);
const SUBSCRIPTIONS: Option<Limit> = limit("event_subscriptions", 100, false);
const AGENTS: Option<Limit> = limit("agents", 100, false);
const SCHEDULES: Option<Limit> = limit("agent_schedules", 100, false);
const SKILLS: Option<Limit> = limit("agent_skills", 100, false);
const CATEGORIES: Option<Limit> = limit("categories", 100, false);
const FAQS: Option<Limit> = limit("faqs", 100, false);
/// Feishu documents per-minute limits for most push-job endpoints (10 to 100 a minute); the
/// limiter counts per second, so they share one "special" bucket (README: Decisions).
const NOTIFICATIONS: Option<Limit> = limit("notifications", 100, false);

use Endpoint as E;

/// The table. Documented limits (`get_ticket` 10/s; `list_tickets`, `create_ticket_message`
/// and `ticket_images` 50/s) are Feishu's.
#[rustfmt::skip]
pub static ENDPOINTS: &[Spec] = &[
    spec(E::TenantAccessToken, Method::POST, "/open-apis/auth/v3/tenant_access_token/internal", &[], None),
    spec(E::AppAccessToken, Method::POST, "/open-apis/auth/v3/app_access_token/internal", &[], None),
    spec(E::StartService, Method::POST, "/open-apis/helpdesk/v1/start_service", ACCESS, limit("start_service", 100, false)),
    spec(E::GetTicket, Method::GET, "/open-apis/helpdesk/v1/tickets/{ticket_id}", READ, limit("get_ticket", 10, true)),
    spec(E::UpdateTicket, Method::PUT, "/open-apis/helpdesk/v1/tickets/{ticket_id}", WRITE, limit("update_ticket", 100, false)),
    spec(E::ListTickets, Method::GET, "/open-apis/helpdesk/v1/tickets", READ, limit("list_tickets", 50, true)),
    spec(E::AnswerUserQuery, Method::POST, "/open-apis/helpdesk/v1/tickets/{ticket_id}/answer_user_query", WRITE, limit("answer_user_query", 100, false)),
    spec(E::CreateTicketMessage, Method::POST, "/open-apis/helpdesk/v1/tickets/{ticket_id}/messages", WRITE, limit("create_ticket_message", 50, true)),
    spec(E::ListTicketMessages, Method::GET, "/open-apis/helpdesk/v1/tickets/{ticket_id}/messages", READ, limit("list_ticket_messages", 100, false)),
    spec(E::TicketImages, Method::GET, "/open-apis/helpdesk/v1/ticket_images", READ, limit("ticket_images", 50, true)),
    spec(E::BotMessage, Method::POST, "/open-apis/helpdesk/v1/message", WRITE, limit("bot_message", 100, false)),
    spec(E::CustomizedFields, Method::GET, "/open-apis/helpdesk/v1/customized_fields", READ, limit("customized_fields", 100, false)),
    spec(E::ListTicketCustomizedFields, Method::GET, "/open-apis/helpdesk/v1/ticket_customized_fields", READ, FIELDS),
    spec(E::CreateTicketCustomizedField, Method::POST, "/open-apis/helpdesk/v1/ticket_customized_fields", WRITE, FIELDS),
    spec(E::GetTicketCustomizedField, Method::GET, "/open-apis/helpdesk/v1/ticket_customized_fields/{id}", READ, FIELDS),
    spec(E::UpdateTicketCustomizedField, Method::PATCH, "/open-apis/helpdesk/v1/ticket_customized_fields/{id}", WRITE, FIELDS),
    spec(E::DeleteTicketCustomizedField, Method::DELETE, "/open-apis/helpdesk/v1/ticket_customized_fields/{id}", WRITE, FIELDS),
    spec(E::SubscribeEvents, Method::POST, "/open-apis/helpdesk/v1/events/subscribe", READ, SUBSCRIPTIONS),
    spec(E::UnsubscribeEvents, Method::POST, "/open-apis/helpdesk/v1/events/unsubscribe", READ, SUBSCRIPTIONS),
    spec(E::PatchAgent, Method::PATCH, "/open-apis/helpdesk/v1/agents/{agent_id}", WRITE, AGENTS),
    spec(E::AgentEmails, Method::GET, "/open-apis/helpdesk/v1/agent_emails", READ, AGENTS),
    spec(E::GetAgentSchedules, Method::GET, "/open-apis/helpdesk/v1/agents/{agent_id}/schedules", READ, SCHEDULES),
    spec(E::PatchAgentSchedules, Method::PATCH, "/open-apis/helpdesk/v1/agents/{agent_id}/schedules", WRITE, SCHEDULES),
    spec(E::DeleteAgentSchedules, Method::DELETE, "/open-apis/helpdesk/v1/agents/{agent_id}/schedules", WRITE, SCHEDULES),
    spec(E::CreateAgentSchedules, Method::POST, "/open-apis/helpdesk/v1/agent_schedules", WRITE, SCHEDULES),
    spec(E::ListAgentSchedules, Method::GET, "/open-apis/helpdesk/v1/agent_schedules", READ, SCHEDULES),
    spec(E::CreateAgentSkill, Method::POST, "/open-apis/helpdesk/v1/agent_skills", WRITE, SKILLS),
    spec(E::ListAgentSkills, Method::GET, "/open-apis/helpdesk/v1/agent_skills", READ, SKILLS),
    spec(E::GetAgentSkill, Method::GET, "/open-apis/helpdesk/v1/agent_skills/{agent_skill_id}", READ, SKILLS),
    spec(E::PatchAgentSkill, Method::PATCH, "/open-apis/helpdesk/v1/agent_skills/{agent_skill_id}", WRITE, SKILLS),
    spec(E::DeleteAgentSkill, Method::DELETE, "/open-apis/helpdesk/v1/agent_skills/{agent_skill_id}", WRITE, SKILLS),
    spec(E::ListAgentSkillRules, Method::GET, "/open-apis/helpdesk/v1/agent_skill_rules", READ, SKILLS),
    spec(E::CreateCategory, Method::POST, "/open-apis/helpdesk/v1/categories", WRITE, CATEGORIES),
    spec(E::ListCategories, Method::GET, "/open-apis/helpdesk/v1/categories", READ, CATEGORIES),
    spec(E::GetCategory, Method::GET, "/open-apis/helpdesk/v1/categories/{id}", READ, CATEGORIES),
    spec(E::PatchCategory, Method::PATCH, "/open-apis/helpdesk/v1/categories/{id}", WRITE, CATEGORIES),
    spec(E::DeleteCategory, Method::DELETE, "/open-apis/helpdesk/v1/categories/{id}", WRITE, CATEGORIES),
    spec(E::CreateFaq, Method::POST, "/open-apis/helpdesk/v1/faqs", WRITE, FAQS),
    spec(E::ListFaqs, Method::GET, "/open-apis/helpdesk/v1/faqs", READ, FAQS),
    spec(E::GetFaq, Method::GET, "/open-apis/helpdesk/v1/faqs/{id}", READ, FAQS),
    spec(E::UpdateFaq, Method::PATCH, "/open-apis/helpdesk/v1/faqs/{id}", WRITE, FAQS),
    spec(E::DeleteFaq, Method::DELETE, "/open-apis/helpdesk/v1/faqs/{id}", WRITE, FAQS),
    spec(E::FaqImage, Method::GET, "/open-apis/helpdesk/v1/faqs/{id}/image/{image_key}", READ, limit("faq_image", 100, false)),
    spec(E::SearchFaqs, Method::GET, "/open-apis/helpdesk/v1/faqs/search", READ, limit("search_faqs", 100, false)),
    spec(E::CreateNotification, Method::POST, "/open-apis/helpdesk/v1/notifications", WRITE, NOTIFICATIONS),
    spec(E::GetNotification, Method::GET, "/open-apis/helpdesk/v1/notifications/{notification_id}", READ, NOTIFICATIONS),
    spec(E::UpdateNotification, Method::PATCH, "/open-apis/helpdesk/v1/notifications/{notification_id}", WRITE, NOTIFICATIONS),
    spec(E::PreviewNotification, Method::POST, "/open-apis/helpdesk/v1/notifications/{notification_id}/preview", READ, NOTIFICATIONS),
    spec(E::SubmitApproveNotification, Method::POST, "/open-apis/helpdesk/v1/notifications/{notification_id}/submit_approve", WRITE, NOTIFICATIONS),
    spec(E::CancelApproveNotification, Method::POST, "/open-apis/helpdesk/v1/notifications/{notification_id}/cancel_approve", WRITE, NOTIFICATIONS),
    spec(E::ExecuteSendNotification, Method::POST, "/open-apis/helpdesk/v1/notifications/{notification_id}/execute_send", WRITE, NOTIFICATIONS),
    spec(E::CancelSendNotification, Method::POST, "/open-apis/helpdesk/v1/notifications/{notification_id}/cancel_send", WRITE, NOTIFICATIONS),
];

impl Endpoint {
    /// This endpoint's row of [`ENDPOINTS`] (rows are in the enum's order; a test checks it).
    pub fn spec(self) -> &'static Spec {
        &ENDPOINTS[self as usize]
    }
}

/// The rate-limit buckets of the table with their default per-second limits, each once.
pub fn buckets() -> Vec<Limit> {
    let mut out: Vec<Limit> = Vec::new();
    for limit in ENDPOINTS.iter().filter_map(|s| s.limit) {
        if !out.iter().any(|l| l.bucket == limit.bucket) {
            out.push(limit);
        }
    }
    out
}

/// The README's endpoint table.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Method | Path | Scope (any one) | Rate limit (bucket) |\n|---|---|---|---|\n");
    for s in ENDPOINTS {
        let path = s.path.strip_prefix(HELPDESK_PREFIX).unwrap_or(s.path);
        let scopes = if s.scopes.is_empty() {
            "—".to_owned()
        } else {
            s.scopes
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let limit = s.limit.map_or("—".to_owned(), |l| {
            let note = if l.documented { "" } else { ", special" };
            format!("{}/s (`{}`{note})", l.per_second, l.bucket)
        });
        out.push_str(&format!("| {} | `{path}` | {scopes} | {limit} |\n", s.method));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_one_row_and_rows_do_not_collide() {
        for (i, a) in ENDPOINTS.iter().enumerate() {
            assert_eq!(a.endpoint as usize, i, "{:?}: rows follow the enum", a.endpoint);
            for b in &ENDPOINTS[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
        // A bucket's limit is the same wherever it is used.
        for a in ENDPOINTS.iter().filter_map(|s| s.limit) {
            for b in ENDPOINTS.iter().filter_map(|s| s.limit) {
                assert!(a.bucket != b.bucket || a == b, "{} differs", a.bucket);
            }
        }
        assert_eq!(Endpoint::GetTicket.spec().limit.map(|l| l.per_second), Some(10));
    }

    /// The README lists what the table says. Run with `LARKDESK_BLESS=1` to rewrite the
    /// README's table after changing [`ENDPOINTS`].
    #[test]
    fn the_readme_endpoint_table_is_this_table() {
        const BEGIN: &str = "<!-- endpoints: generated from crates/larkdesk-api/src/endpoints.rs -->\n";
        const END: &str = "<!-- /endpoints -->";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(&path).expect("README.md");
        let start = readme.find(BEGIN).expect("README has the endpoints marker") + BEGIN.len();
        let end = start + readme[start..].find(END).expect("README has the end marker");
        let want = markdown_table();
        if std::env::var_os("LARKDESK_BLESS").is_some() {
            let updated = format!("{}{want}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).expect("write README.md");
            return;
        }
        assert_eq!(
            &readme[start..end],
            want,
            "README's endpoint table is stale: run LARKDESK_BLESS=1 cargo test -p larkdesk-api"
        );
    }
}
