//! The ticket object (`ticket_v2`) and its parts.

use serde::{Deserialize, Serialize};

/// A user as shown inside a ticket (`ticket_user`). All fields are strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketUser {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub avatar_url: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: String,
}

/// The ticket's note. An object, not an array (`docs/feishu-wire.md` HAZARD 4). `user_id` is a 64-bit integer that
/// exceeds 2^53, so it stays an `i64` end to end and is never routed through `f64`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comments {
    pub content: String,
    /// Milliseconds.
    pub created_at: i64,
    pub id: i64,
    #[serde(default)]
    pub user_avatar_url: String,
    #[serde(default)]
    pub user_name: String,
    pub user_id: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct I18n {
    #[serde(default)]
    pub zh_cn: String,
    #[serde(default)]
    pub en_us: String,
    #[serde(default)]
    pub ja_jp: String,
}

/// `customized_field_display_item`. `position` is an int here (a string in field definitions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomizedFieldDisplayItem {
    pub id: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub editable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketTag {
    pub id: String,
    pub name: String,
}

/// `ticket_v2` as returned by `GET /tickets/:ticket_id`.
///
/// Presence rules (our decision where the doc is silent): integers are always present (0 when
/// unknown, `updated_at` -1 when unset as the doc says); lists `agents`/`collaborators` are always
/// present; optional objects (`comments`, `dissatisfaction_reason`, `closed_by`, `agent_owner`)
/// are omitted when absent; `customized_fields` and `tags` are omitted when empty, as the doc says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub helpdesk_id: String,
    pub guest: TicketUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Comments>,
    pub ticket_type: i64,
    pub status: i64,
    #[serde(default)]
    pub score: i64,
    pub created_at: i64,
    #[serde(default = "unset_time")]
    pub updated_at: i64,
    #[serde(default)]
    pub closed_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dissatisfaction_reason: Option<I18n>,
    #[serde(default)]
    pub agents: Vec<TicketUser>,
    #[serde(default)]
    pub channel: i64,
    #[serde(default)]
    pub solve: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<TicketUser>,
    #[serde(default)]
    pub collaborators: Vec<TicketUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customized_fields: Vec<CustomizedFieldDisplayItem>,
    /// Minutes, a float.
    #[serde(default)]
    pub agent_service_duration: f64,
    /// Seconds.
    #[serde(default)]
    pub agent_first_response_duration: i64,
    /// Seconds.
    #[serde(default)]
    pub bot_service_duration: i64,
    /// Seconds.
    #[serde(default)]
    pub agent_resolution_time: i64,
    /// Seconds.
    #[serde(default)]
    pub actual_processing_time: i64,
    /// Milliseconds.
    #[serde(default)]
    pub agent_entry_time: i64,
    /// Milliseconds.
    #[serde(default)]
    pub agent_first_response_time: i64,
    /// Milliseconds.
    #[serde(default)]
    pub agent_last_response_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_owner: Option<TicketUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TicketTag>,
}

fn unset_time() -> i64 {
    -1
}

/// `data` of `GET /tickets/:ticket_id` (`T`: the ticket, or its JSON already rendered).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GetTicketData<T = Ticket> {
    pub ticket: T,
}

/// A chat message of a ticket, as listed by `GET /tickets/:id/messages`.
/// `created_at` is an integer in milliseconds (`docs/feishu-wire.md` HAZARD 3: never a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketMessage {
    pub id: String,
    pub message_id: String,
    pub message_type: String,
    pub created_at: i64,
    pub content: String,
    pub user_name: String,
    pub avatar_url: String,
    pub user_id: String,
}

/// `data` of `GET /tickets`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListTicketsData {
    pub total: i64,
    pub tickets: Vec<Ticket>,
}

/// `data` of `GET /tickets/:id/messages`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListMessagesData {
    pub messages: Vec<TicketMessage>,
    pub total: i64,
}

/// `data` of `POST /start_service`. `ticket_id` only for human-service tickets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StartServiceData {
    pub chat_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
}

/// `data` of message-creating endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageIdData {
    pub message_id: String,
}
