//! The ticket event log: what happened to a ticket, in order. The ticket row is a projection of
//! this log (see [`crate::lifecycle`]); events are only ever appended.

use larkdesk_wire::ticket::{CustomizedFieldDisplayItem, I18n, Ticket};
use serde::{Deserialize, Serialize};

/// Who caused an event. People are identified by open_id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Guest(String),
    Agent(String),
    Bot,
    /// larkdesk itself or an administrator (imports, automatic queueing).
    System,
}

/// `sender_type` of messages: 1 bot, 2 guest, 3 agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Bot,
    Guest,
    Agent,
}

impl Sender {
    pub fn code(self) -> i64 {
        match self {
            Self::Bot => 1,
            Self::Guest => 2,
            Self::Agent => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The ticket exists. `human_service` tickets skip the bot stage and start queued.
    Created {
        guest_id: String,
        channel: i64,
        human_service: bool,
    },
    /// A ticket brought in as a ready-made snapshot (admin import, demo data). Its derived
    /// durations are taken as given.
    Imported {
        snapshot: Box<Ticket>,
    },
    /// The guest asked for a human: the ticket leaves the bot stage and is queued.
    HumanRequested,
    /// An agent joined the ticket (the first one marks agent entry; later ones are
    /// reassignments or additional agents). The newest becomes `agent_owner`.
    AgentEntered {
        agent_id: String,
    },
    /// An agent left the ticket (reassignment away from them).
    AgentLeft {
        agent_id: String,
    },
    /// A chat message in the ticket.
    Message {
        sender: Sender,
        sender_id: String,
        message_id: String,
        msg_type: String,
        content: String,
    },
    /// Status set through the API or by an agent (not a close; see `Closed`).
    StatusChanged {
        status: i64,
    },
    /// The ticket was closed: status 50 (bot), 51 (agent) or 52 (user).
    Closed {
        status: i64,
        by_id: Option<String>,
    },
    /// A closed ticket was opened again (status back to in-progress).
    Reopened,
    /// The note (`comments`) was replaced.
    Commented {
        comment_id: i64,
        content: String,
        user_id: i64,
        user_name: String,
        user_avatar_url: String,
    },
    /// Tags added by name.
    Tagged {
        tags: Vec<(String, String)>,
    },
    CustomizedFieldsSet {
        fields: Vec<CustomizedFieldDisplayItem>,
    },
    StageChanged {
        ticket_type: i64,
    },
    SolvedSet {
        solve: i64,
    },
    ChannelSet {
        channel: i64,
    },
    /// The guest rated the ticket.
    Rated {
        score: i64,
        dissatisfaction_reason: Option<I18n>,
    },
    CollaboratorAdded {
        user_id: String,
    },
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: EventKind,
}
