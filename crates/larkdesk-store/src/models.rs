//! What the store keeps and hands back, besides the wire types it stores as they are.

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::TicketEvent;
use larkdesk_domain::ids::{AppRowId, HelpdeskRowId, TenantRowId, TicketId, UserRowId};
use larkdesk_domain::log::{LogMessage, LogState};
use larkdesk_wire::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantRowId,
    pub tenant_key: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// A self-built app ("Custom App"), the only kind the helpdesk API accepts.
    Custom,
    /// An app-store app.
    Store,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Custom => "custom",
            Self::Store => "store",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "custom" => Some(Self::Custom),
            "store" => Some(Self::Store),
            _ => None,
        }
    }
}

/// Which wire an app is answered with: `docs` (the default) follows the documentation and the
/// SDK models; `production` reproduces what the production API is publicly reported to send
/// where it deviates (listed in the README with each report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WireProfile {
    #[default]
    Docs,
    Production,
}

impl WireProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docs => "docs",
            Self::Production => "production",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "docs" => Some(Self::Docs),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: AppRowId,
    pub app_id: String,
    pub tenant_id: TenantRowId,
    pub name: String,
    pub app_type: AppType,
    pub scopes: Vec<String>,
    pub secret_hash: SecretHash,
    pub wire_profile: WireProfile,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub app_id: String,
    pub tenant_id: TenantRowId,
    pub name: String,
    pub app_type: AppType,
    pub scopes: Vec<String>,
    pub secret_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct Helpdesk {
    pub id: HelpdeskRowId,
    pub helpdesk_id: String,
    pub tenant_id: TenantRowId,
    pub name: String,
    pub token_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct NewHelpdesk {
    pub helpdesk_id: String,
    pub tenant_id: TenantRowId,
    pub name: String,
    pub token_hash: SecretHash,
}

/// Filters of `GET /tickets` (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TicketFilter {
    pub ticket_id: Option<TicketId>,
    pub agent_id: Option<String>,
    pub closed_by_id: Option<String>,
    pub ticket_type: Option<i64>,
    pub channel: Option<i64>,
    pub solved: Option<i64>,
    pub score: Option<i64>,
    pub status_list: Vec<i64>,
    pub guest_name: Option<String>,
    pub guest_id: Option<String>,
    /// Tag names; a ticket matches when it has any of them.
    pub tags: Vec<String>,
    /// Inclusive millisecond range on `created_at`.
    pub created: Option<(i64, i64)>,
    /// Inclusive millisecond range on `updated_at`.
    pub updated: Option<(i64, i64)>,
}

impl TicketFilter {
    /// Whether the tickets this filter matches depend only on what a ticket is created with
    /// (its id and creation time, which no change alters): then changes to tickets never change
    /// its total, only tickets added or removed do (see [`TicketStore::ticket_set_version`]).
    /// Every other field can change after creation (`PUT /tickets/:id` sets type, channel,
    /// status, solved, tags; a message moves status 1 to 2 and the update time).
    ///
    /// [`TicketStore::ticket_set_version`]: crate::TicketStore::ticket_set_version
    pub fn matches_by_creation_only(&self) -> bool {
        let Self {
            ticket_id: _,
            created: _,
            agent_id,
            closed_by_id,
            ticket_type,
            channel,
            solved,
            score,
            status_list,
            guest_name,
            guest_id,
            tags,
            updated,
        } = self;
        agent_id.is_none()
            && closed_by_id.is_none()
            && ticket_type.is_none()
            && channel.is_none()
            && solved.is_none()
            && score.is_none()
            && status_list.is_empty()
            && guest_name.is_none()
            && guest_id.is_none()
            && tags.is_empty()
            && updated.is_none()
    }
}

/// One page of `GET /tickets` to read: the filter, where the page starts, how many tickets it
/// holds, and its total when the caller already knows it.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest<'a> {
    pub filter: &'a TicketFilter,
    /// Tickets skipped, newest first.
    pub offset: i64,
    /// Most tickets on the page.
    pub limit: i64,
    /// The filter's total, when the caller counted it before with nothing written since: then
    /// it is not counted again (at a million tickets the count is most of a list's cost).
    pub known_total: Option<i64>,
}

impl<'a> ListRequest<'a> {
    /// `limit` tickets of `filter` from `offset`, the total counted.
    pub fn new(filter: &'a TicketFilter, offset: i64, limit: i64) -> Self {
        Self {
            filter,
            offset,
            limit,
            known_total: None,
        }
    }

    /// The same page, with the total known (or not).
    pub fn known_total(self, total: Option<i64>) -> Self {
        Self {
            known_total: total,
            ..self
        }
    }
}

/// A ticket chat message as stored: the message its ticket's log implies, and the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub ticket_id: TicketId,
    pub message: LogMessage,
}

/// A directory user with its storage ids.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserRowId,
    pub tenant_id: TenantRowId,
    pub user: larkdesk_wire::ticket::TicketUser,
    pub is_agent: bool,
}

/// A new or changed customized field definition.
#[derive(Debug, Clone, Default)]
pub struct FieldDefinition {
    pub key_name: String,
    pub display_name: String,
    pub position: String,
    pub field_type: String,
    pub description: String,
    pub visible: bool,
    pub editable: bool,
    pub required: bool,
    pub dropdown_allow_multiple: bool,
    pub dropdown_options: Option<larkdesk_wire::fields::DropdownOptions>,
}

/// A message the helpdesk bot sent to a user outside tickets.
#[derive(Debug, Clone)]
pub struct BotMessage {
    pub message_id: String,
    pub receiver_id: String,
    pub receive_type: String,
    pub msg_type: String,
    pub content: String,
    pub at_ms: i64,
}

/// Where and how an app receives events.
#[derive(Clone, PartialEq, Eq)]
pub struct EventSettings {
    pub request_url: String,
    pub verification_token: String,
    pub encrypt_key: Option<String>,
}

impl std::fmt::Debug for EventSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSettings")
            .field("request_url", &self.request_url)
            .field("encrypt_key", &self.encrypt_key.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

/// An event due for delivery, claimed by a worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub app: AppRowId,
    pub event_type: String,
    /// The plaintext schema 2.0 envelope, compact JSON.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// What came of one delivery attempt.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Delivered {
        at_ms: i64,
    },
    /// Try again at `at_ms`.
    Retry {
        at_ms: i64,
        error: String,
    },
    /// Out of attempts.
    Failed {
        error: String,
    },
}

/// A row of the delivery log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub app_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub delivered_at: i64,
    pub last_error: String,
}

/// A ticket locked by a write transaction: its chat, its stored projection (people by id only)
/// and the state kept beside it (`None` for tickets stored before migration 0007).
#[derive(Debug, Clone)]
pub struct LockedTicket {
    pub chat_id: String,
    pub projection: Ticket,
    pub state: Option<LogState>,
}

/// A new ticket's rows: the ticket, its log and the messages the log holds.
#[derive(Debug, Clone, Copy)]
pub struct NewTicketRows<'a> {
    pub id: TicketId,
    pub chat_id: &'a str,
    /// People by id only; the directory holds their profiles.
    pub projection: &'a Ticket,
    pub log: &'a [TicketEvent],
    pub messages: &'a [LogMessage],
    pub state: &'a LogState,
}

/// An app that receives a helpdesk's events of one type.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub app: AppRowId,
    pub app_id: String,
    pub verification_token: String,
    pub tenant_key: String,
    pub event_type: String,
}

/// An event to deliver, written into the outbox with the change that caused it.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub event_id: String,
    pub app: AppRowId,
    pub event_type: String,
    /// The plaintext schema 2.0 envelope, compact JSON.
    pub body: String,
    pub at_ms: i64,
}

/// An agent of a helpdesk as routing keeps it (`helpdesk_agents`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentState {
    /// The agent's open_id.
    pub agent_id: String,
    /// As the agent set it: 1 online, 2 offline.
    pub status: i64,
    /// `None` until a schedule is set.
    pub schedule: Option<Vec<larkdesk_wire::agents::WeekdaySchedule>>,
    /// The schedule was deleted.
    pub removed: bool,
    pub last_routed_at: i64,
}

/// A stored rule of a skill: the catalogue fields are added when it is shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredRule {
    pub id: String,
    pub selected_operator: i64,
    /// JSON text (or plain text) as given.
    pub operand: String,
}

/// An agent skill with the open_ids of its agents (in the order they were added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillRecord {
    pub skill_id: String,
    pub name: String,
    pub rules: Vec<StoredRule>,
    pub is_default: bool,
    pub agent_ids: Vec<String>,
}

/// A FAQ category with its times (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRecord {
    pub category: larkdesk_wire::agents::Category,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A FAQ as stored. `created_by`/`updated_by` are open_ids (the directory holds profiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFaq {
    /// Storage order (list paging).
    pub row: i64,
    pub faq_id: larkdesk_domain::ids::FaqId,
    pub category_id: Option<String>,
    pub question: String,
    pub answer: String,
    pub answer_richtext: Vec<larkdesk_wire::faqs::Richtext>,
    pub tags: Vec<String>,
    /// 1 online, 0 deleted.
    pub status: i64,
    /// Seconds.
    pub create_time: i64,
    pub update_time: i64,
    pub expire_time: i64,
    pub created_by: String,
    pub updated_by: String,
}

/// A FAQ's content to write, with who writes it and when (seconds).
#[derive(Debug, Clone, Copy)]
pub struct FaqWrite<'a> {
    pub category_id: Option<&'a str>,
    pub content: &'a larkdesk_domain::faq::FaqContent,
    /// [`larkdesk_domain::faq::search_text`] of the content.
    pub search_text: &'a str,
    pub by: &'a str,
    pub at_secs: i64,
}

/// Filters of `GET /faqs` (combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaqFilter {
    pub category_id: Option<String>,
    pub status: i64,
    /// Every one of these must be in the FAQ's search text.
    pub all_terms: Vec<String>,
}

/// A push job as stored (JSON in `notifications.job`): the wire object with people by
/// `user_id` only, the reason it was submitted with, and the bot messages it sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredJob {
    pub notification: larkdesk_wire::notifications::Notification,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message_ids: Vec<String>,
}

/// A push job read in a write transaction, locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedJob {
    pub status: i64,
    pub send_at: Option<i64>,
    pub job: StoredJob,
}

/// A ticket as the admin list shows it: ids and times, no content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TicketSummary {
    pub ticket_id: String,
    pub helpdesk_id: String,
    pub status: i64,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn only_creation_facts_make_a_filter_match_by_creation_only() {
        let by_creation = [
            TicketFilter::default(),
            TicketFilter {
                ticket_id: Some(TicketId::new(7)),
                ..TicketFilter::default()
            },
            TicketFilter {
                created: Some((1, 2)),
                ..TicketFilter::default()
            },
        ];
        for filter in by_creation {
            assert!(filter.matches_by_creation_only(), "{filter:?}");
        }
        let some = |s: &str| Some(s.to_owned());
        let changeable = [
            TicketFilter {
                agent_id: some("a"),
                ..TicketFilter::default()
            },
            TicketFilter {
                closed_by_id: some("a"),
                ..TicketFilter::default()
            },
            TicketFilter {
                ticket_type: Some(1),
                ..TicketFilter::default()
            },
            TicketFilter {
                channel: Some(1),
                ..TicketFilter::default()
            },
            TicketFilter {
                solved: Some(1),
                ..TicketFilter::default()
            },
            TicketFilter {
                score: Some(1),
                ..TicketFilter::default()
            },
            TicketFilter {
                status_list: vec![1],
                ..TicketFilter::default()
            },
            TicketFilter {
                guest_name: some("g"),
                ..TicketFilter::default()
            },
            TicketFilter {
                guest_id: some("g"),
                ..TicketFilter::default()
            },
            TicketFilter {
                tags: vec!["t".into()],
                ..TicketFilter::default()
            },
            TicketFilter {
                updated: Some((1, 2)),
                ..TicketFilter::default()
            },
            TicketFilter {
                created: Some((1, 2)),
                status_list: vec![50],
                ..TicketFilter::default()
            },
        ];
        for filter in changeable {
            assert!(!filter.matches_by_creation_only(), "{filter:?}");
        }
    }
}
