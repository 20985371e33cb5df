//! The ticket event log: what happened to a ticket, in order. The ticket row is a projection of
//! this log (see [`crate::lifecycle`]); events are only ever appended.
//!
//! # The log is a stored format (version 1)
//!
//! Every [`TicketEvent`] is persisted: the store writes it as JSON (`serde_json::to_string`, one
//! row per event) and reads it back for as long as the database lives. That JSON is a stored
//! format, version 1, pinned byte for byte by `tests/event_format.rs` against
//! `tests/fixtures/event_log_v1.jsonl` (one event of every kind).
//!
//! - Changing a type in this module (a variant's tag, a field's name, type, order, default or
//!   presence rule, `Actor`, `Sender`, any payload type) changes what existing databases hold.
//!   It needs a new variant or a migration of the stored rows, never a silent change. The golden
//!   test fails on a silent one; don't "fix" it by regenerating the fixture.
//! - Nothing stored depends on `larkdesk_wire`. The payloads that look like API objects
//!   ([`ImportedTicket`], [`PersonRef`], [`Note`], [`Reason`], [`FieldValue`], [`Tag`]) are owned
//!   here; their JSON is what the wire types wrote when v1 was fixed. The wire crate may change
//!   freely: only the conversions at the end of this file (the one place payloads meet wire
//!   types) follow it.

use larkdesk_wire::ticket::{Comments, CustomizedFieldDisplayItem, I18n, Ticket, TicketTag, TicketUser};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        snapshot: Box<ImportedTicket>,
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
        fields: Vec<FieldValue>,
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
        dissatisfaction_reason: Option<Reason>,
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

// ---- payloads --------------------------------------------------------------------------------
//
// Stored types: see the module docs before changing anything below. Field order is the JSON order.

/// The snapshot of an `Imported` event: a whole ticket as it was brought in. Stored in the shape
/// of a v1 `ticket_v2` object; the same presence rules apply (optional objects and empty
/// `customized_fields`/`tags` are omitted, a missing `updated_at` reads as -1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedTicket {
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub helpdesk_id: String,
    pub guest: PersonRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Note>,
    pub ticket_type: i64,
    pub status: i64,
    #[serde(default)]
    pub score: i64,
    /// Milliseconds.
    pub created_at: i64,
    /// Milliseconds; -1 when never updated.
    #[serde(default = "unset_time")]
    pub updated_at: i64,
    /// Milliseconds.
    #[serde(default)]
    pub closed_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dissatisfaction_reason: Option<Reason>,
    #[serde(default)]
    pub agents: Vec<PersonRef>,
    #[serde(default)]
    pub channel: i64,
    #[serde(default)]
    pub solve: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<PersonRef>,
    #[serde(default)]
    pub collaborators: Vec<PersonRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customized_fields: Vec<FieldValue>,
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
    pub agent_owner: Option<PersonRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

fn unset_time() -> i64 {
    -1
}

/// A person named by an [`ImportedTicket`], kept by open_id only: the directory owns profiles.
///
/// Written as v1 wrote it, a `ticket_user` object whose other fields are all empty:
/// `{"id":"ou_x","avatar_url":"","name":"","email":"","department":"","city":"","country":""}`.
/// Reading takes `id` (empty when missing) and ignores everything else (v1 never wrote a
/// profile field that was not empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRef {
    pub id: String,
}

/// [`PersonRef`] as it is written: the profile fields are always empty.
#[derive(Serialize)]
struct PersonRefOut<'a> {
    id: &'a str,
    avatar_url: &'a str,
    name: &'a str,
    email: &'a str,
    department: &'a str,
    city: &'a str,
    country: &'a str,
}

#[derive(Deserialize)]
struct PersonRefIn {
    #[serde(default)]
    id: String,
}

impl Serialize for PersonRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PersonRefOut {
            id: &self.id,
            avatar_url: "",
            name: "",
            email: "",
            department: "",
            city: "",
            country: "",
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PersonRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let PersonRefIn { id } = PersonRefIn::deserialize(deserializer)?;
        Ok(Self { id })
    }
}

/// The note of an [`ImportedTicket`] (`comments` in the API). `user_id` exceeds 2^53 and stays
/// an integer end to end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
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

/// A dissatisfaction reason, in three languages (`Rated`, and an [`ImportedTicket`]'s).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    #[serde(default)]
    pub zh_cn: String,
    #[serde(default)]
    pub en_us: String,
    #[serde(default)]
    pub ja_jp: String,
}

/// The value of one customized field on a ticket, with the field's definition as it was when the
/// value was set (`CustomizedFieldsSet`, and an [`ImportedTicket`]'s fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub id: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub display_name: String,
    /// An integer here (a string in field definitions).
    #[serde(default)]
    pub position: i64,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub editable: bool,
}

/// A tag of an [`ImportedTicket`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
}

// ---- conversions to and from the wire types ----------------------------------------------------
//
// The only place the stored payloads meet `larkdesk_wire`. When a wire type changes, only this
// section follows it; the stored shapes above stay as they are.

impl From<&Ticket> for ImportedTicket {
    /// The snapshot to store for `t`. People keep only their open_id (profiles are dropped: the
    /// directory owns them).
    fn from(t: &Ticket) -> Self {
        Self {
            ticket_id: t.ticket_id.clone(),
            helpdesk_id: t.helpdesk_id.clone(),
            guest: PersonRef::from(&t.guest),
            comments: t.comments.clone().map(Note::from),
            ticket_type: t.ticket_type,
            status: t.status,
            score: t.score,
            created_at: t.created_at,
            updated_at: t.updated_at,
            closed_at: t.closed_at,
            dissatisfaction_reason: t.dissatisfaction_reason.clone().map(Reason::from),
            agents: t.agents.iter().map(PersonRef::from).collect(),
            channel: t.channel,
            solve: t.solve,
            closed_by: t.closed_by.as_ref().map(PersonRef::from),
            collaborators: t.collaborators.iter().map(PersonRef::from).collect(),
            customized_fields: t
                .customized_fields
                .iter()
                .cloned()
                .map(FieldValue::from)
                .collect(),
            agent_service_duration: t.agent_service_duration,
            agent_first_response_duration: t.agent_first_response_duration,
            bot_service_duration: t.bot_service_duration,
            agent_resolution_time: t.agent_resolution_time,
            actual_processing_time: t.actual_processing_time,
            agent_entry_time: t.agent_entry_time,
            agent_first_response_time: t.agent_first_response_time,
            agent_last_response_time: t.agent_last_response_time,
            agent_owner: t.agent_owner.as_ref().map(PersonRef::from),
            tags: t.tags.iter().cloned().map(Tag::from).collect(),
        }
    }
}

impl ImportedTicket {
    /// The ticket this snapshot describes, its people carrying only their open_id.
    pub fn to_ticket(&self) -> Ticket {
        Ticket {
            ticket_id: self.ticket_id.clone(),
            helpdesk_id: self.helpdesk_id.clone(),
            guest: TicketUser::from(&self.guest),
            comments: self.comments.clone().map(Comments::from),
            ticket_type: self.ticket_type,
            status: self.status,
            score: self.score,
            created_at: self.created_at,
            updated_at: self.updated_at,
            closed_at: self.closed_at,
            dissatisfaction_reason: self.dissatisfaction_reason.clone().map(I18n::from),
            agents: self.agents.iter().map(TicketUser::from).collect(),
            channel: self.channel,
            solve: self.solve,
            closed_by: self.closed_by.as_ref().map(TicketUser::from),
            collaborators: self.collaborators.iter().map(TicketUser::from).collect(),
            customized_fields: self
                .customized_fields
                .iter()
                .cloned()
                .map(CustomizedFieldDisplayItem::from)
                .collect(),
            agent_service_duration: self.agent_service_duration,
            agent_first_response_duration: self.agent_first_response_duration,
            bot_service_duration: self.bot_service_duration,
            agent_resolution_time: self.agent_resolution_time,
            actual_processing_time: self.actual_processing_time,
            agent_entry_time: self.agent_entry_time,
            agent_first_response_time: self.agent_first_response_time,
            agent_last_response_time: self.agent_last_response_time,
            agent_owner: self.agent_owner.as_ref().map(TicketUser::from),
            tags: self.tags.iter().cloned().map(TicketTag::from).collect(),
        }
    }
}

impl From<&TicketUser> for PersonRef {
    /// Only the open_id; the profile is dropped.
    fn from(u: &TicketUser) -> Self {
        Self { id: u.id.clone() }
    }
}

impl From<&PersonRef> for TicketUser {
    /// A user with only `id` set.
    fn from(p: &PersonRef) -> Self {
        Self {
            id: p.id.clone(),
            ..Default::default()
        }
    }
}

impl From<Comments> for Note {
    fn from(c: Comments) -> Self {
        let Comments {
            content,
            created_at,
            id,
            user_avatar_url,
            user_name,
            user_id,
        } = c;
        Self {
            content,
            created_at,
            id,
            user_avatar_url,
            user_name,
            user_id,
        }
    }
}

impl From<Note> for Comments {
    fn from(n: Note) -> Self {
        let Note {
            content,
            created_at,
            id,
            user_avatar_url,
            user_name,
            user_id,
        } = n;
        Self {
            content,
            created_at,
            id,
            user_avatar_url,
            user_name,
            user_id,
        }
    }
}

impl From<I18n> for Reason {
    fn from(r: I18n) -> Self {
        let I18n { zh_cn, en_us, ja_jp } = r;
        Self { zh_cn, en_us, ja_jp }
    }
}

impl From<Reason> for I18n {
    fn from(r: Reason) -> Self {
        let Reason { zh_cn, en_us, ja_jp } = r;
        Self { zh_cn, en_us, ja_jp }
    }
}

impl From<CustomizedFieldDisplayItem> for FieldValue {
    fn from(f: CustomizedFieldDisplayItem) -> Self {
        let CustomizedFieldDisplayItem {
            id,
            value,
            key_name,
            display_name,
            position,
            required,
            editable,
        } = f;
        Self {
            id,
            value,
            key_name,
            display_name,
            position,
            required,
            editable,
        }
    }
}

impl From<FieldValue> for CustomizedFieldDisplayItem {
    fn from(f: FieldValue) -> Self {
        let FieldValue {
            id,
            value,
            key_name,
            display_name,
            position,
            required,
            editable,
        } = f;
        Self {
            id,
            value,
            key_name,
            display_name,
            position,
            required,
            editable,
        }
    }
}

impl From<TicketTag> for Tag {
    fn from(t: TicketTag) -> Self {
        let TicketTag { id, name } = t;
        Self { id, name }
    }
}

impl From<Tag> for TicketTag {
    fn from(t: Tag) -> Self {
        let Tag { id, name } = t;
        Self { id, name }
    }
}
