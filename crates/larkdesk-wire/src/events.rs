//! Event payloads pushed to apps (schema 2.0), `docs/feishu-wire.md#event-envelope`. People are
//! `{id: {user_id, open_id, union_id}, …}` here, unlike the REST `ticket_user`.

use serde::Serialize;

use crate::ticket::{Comments, CustomizedFieldDisplayItem, I18n, Ticket, TicketUser};

pub const TICKET_CREATED: &str = "helpdesk.ticket.created_v1";
pub const TICKET_UPDATED: &str = "helpdesk.ticket.updated_v1";
pub const TICKET_MESSAGE_CREATED: &str = "helpdesk.ticket_message.created_v1";
/// The event types an app subscribes to with `POST /events/subscribe`.
pub const EVENT_TYPES: &[&str] = &[
    TICKET_CREATED,
    TICKET_UPDATED,
    TICKET_MESSAGE_CREATED,
    crate::notifications::NOTIFICATION_APPROVE,
];

#[derive(Debug, Clone, Serialize)]
pub struct UserId {
    /// Needs a scope Feishu grants separately; larkdesk has no employee ids.
    pub user_id: Option<String>,
    pub open_id: String,
    pub union_id: Option<String>,
}

impl UserId {
    pub fn open(open_id: &str) -> Self {
        Self {
            user_id: None,
            open_id: open_id.to_owned(),
            union_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketUserEvent {
    pub id: UserId,
    pub avatar_url: String,
    pub name: String,
    pub email: String,
}

impl From<&TicketUser> for TicketUserEvent {
    fn from(u: &TicketUser) -> Self {
        Self {
            id: UserId::open(&u.id),
            avatar_url: u.avatar_url.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
        }
    }
}

/// `helpdesk.ticket.created_v1` event body, and (with the people lists) the `object` of updates.
#[derive(Debug, Clone, Serialize)]
pub struct TicketEventObject {
    pub ticket_id: String,
    pub helpdesk_id: String,
    pub guest: TicketUserEvent,
    pub stage: i64,
    pub status: i64,
    pub score: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: i64,
    pub channel: i64,
    pub solve: i64,
    pub customized_fields: Vec<CustomizedFieldDisplayItem>,
    pub chat_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<TicketUserEvent>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<TicketUserEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collaborators: Option<Vec<TicketUserEvent>>,
}

impl TicketEventObject {
    /// The created-event shape (no people lists).
    pub fn created(t: &Ticket, chat_id: &str) -> Self {
        Self {
            ticket_id: t.ticket_id.clone(),
            helpdesk_id: t.helpdesk_id.clone(),
            guest: (&t.guest).into(),
            stage: t.ticket_type,
            status: t.status,
            score: t.score,
            created_at: t.created_at,
            updated_at: t.updated_at,
            closed_at: t.closed_at,
            channel: t.channel,
            solve: t.solve,
            customized_fields: t.customized_fields.clone(),
            chat_id: chat_id.to_owned(),
            agents: None,
            closed_by: None,
            collaborators: None,
        }
    }

    /// The updated-event `object` shape.
    pub fn updated(t: &Ticket, chat_id: &str) -> Self {
        Self {
            agents: Some(t.agents.iter().map(Into::into).collect()),
            closed_by: Some(
                t.closed_by
                    .as_ref()
                    .map(Into::into)
                    .unwrap_or_else(|| (&TicketUser::default()).into()),
            ),
            collaborators: Some(t.collaborators.iter().map(Into::into).collect()),
            ..Self::created(t, chat_id)
        }
    }
}

/// `old_object` of `helpdesk.ticket.updated_v1`: only the fields that changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketEventUpdateInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketUpdated {
    pub object: TicketEventObject,
    pub old_object: TicketEventUpdateInfo,
}

/// The ticket subset carried by message events. Unlike REST's `ticket_v2`, the SDKs type this
/// as the older `ticket` model: `comments` is an array (lark-oapi 1.7 raises on an object; the
/// Node SDK declares an array too) and `agent_owner` is a REST `ticket_user`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageTicket {
    pub ticket_id: String,
    pub comments: Vec<Comments>,
    pub ticket_type: i64,
    pub status: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dissatisfaction_reason: Option<I18n>,
    pub customized_fields: Vec<CustomizedFieldDisplayItem>,
    pub agent_service_duration: f64,
    pub agent_first_response_duration: i64,
    pub bot_service_duration: i64,
    pub agent_resolution_time: i64,
    pub actual_processing_time: i64,
    pub agent_entry_time: i64,
    pub agent_first_response_time: i64,
    pub agent_last_response_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_owner: Option<TicketUser>,
}

impl From<&Ticket> for MessageTicket {
    fn from(t: &Ticket) -> Self {
        Self {
            ticket_id: t.ticket_id.clone(),
            comments: t.comments.iter().cloned().collect(),
            ticket_type: t.ticket_type,
            status: t.status,
            dissatisfaction_reason: t.dissatisfaction_reason.clone(),
            customized_fields: t.customized_fields.clone(),
            agent_service_duration: t.agent_service_duration,
            agent_first_response_duration: t.agent_first_response_duration,
            bot_service_duration: t.bot_service_duration,
            agent_resolution_time: t.agent_resolution_time,
            actual_processing_time: t.actual_processing_time,
            agent_entry_time: t.agent_entry_time,
            agent_first_response_time: t.agent_first_response_time,
            agent_last_response_time: t.agent_last_response_time,
            agent_owner: t.agent_owner.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageContent {
    pub content: String,
    pub msg_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_key: Option<String>,
}

/// `helpdesk.ticket_message.created_v1` event body.
#[derive(Debug, Clone, Serialize)]
pub struct TicketMessageCreated {
    pub ticket_message_id: String,
    pub message_id: String,
    pub msg_type: String,
    /// A string, e.g. "10".
    pub position: String,
    pub sender_id: UserId,
    /// 1 bot, 2 guest, 3 agent.
    pub sender_type: i64,
    pub text: String,
    pub ticket: MessageTicket,
    /// Feed to `answer_user_query`.
    pub event_id: String,
    pub chat_id: String,
    pub content: MessageContent,
}

/// The schema 2.0 envelope.
#[derive(Debug, Clone, Serialize)]
pub struct EventEnvelope<T> {
    pub schema: &'static str,
    pub header: EventHeader,
    pub event: T,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventHeader {
    pub event_id: String,
    pub event_type: String,
    /// Milliseconds, as a string.
    pub create_time: String,
    pub token: String,
    pub app_id: String,
    pub tenant_key: String,
}
