//! The ticket use cases.
//!
//! Every change runs in one store transaction ([`larkdesk_store::TicketWrite`]): lock the ticket
//! (or insert it), decide the new events against its current state, apply only them to its
//! stored projection and kept state ([`larkdesk_domain::log`]; the write costs the same however
//! long the log), write the new events, the projection and the new messages, and queue what the
//! change pushes to subscribed apps ([`larkdesk_domain::notify`]). A change the lifecycle refuses
//! writes nothing. Decisions that depend on the ticket's state (reopen before a status change,
//! the next comment's number) are made on the locked ticket, so concurrent requests cannot both
//! act on the same stale state.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use larkdesk_domain::events::{Actor, EventKind, FieldValue, ImportedTicket, Reason, Sender, TicketEvent};
use larkdesk_domain::ids::{self, TicketId};
use larkdesk_domain::limits;
use larkdesk_domain::log::{self, Appended, LogState};
use larkdesk_domain::status::{TicketStage, TicketStatus};
use larkdesk_store::prelude::*;
use larkdesk_store::{
    BotMessage, Helpdesk, ListRequest, NewTicketRows, Render, Subscriber, TicketFilter, TicketWrite,
    fill_people, people_named,
};
use larkdesk_wire::ticket::{Ticket, TicketMessage, TicketUser};

use crate::{Caller, Clock, Error, Result, outbox};

/// `channel` of tickets opened through the API (`start_service`).
pub const CHANNEL_OPEN_API: i64 = 9;

/// A ticket as `GET /tickets/:id` shows it.
#[derive(Debug)]
pub enum Rendered {
    /// JSON of the wire `Ticket`, as its last write rendered it.
    Json(String),
    Ticket(Box<Ticket>),
}

/// A page of `GET /tickets`, as [`Tickets::list_page`] found it.
#[derive(Debug, Clone)]
pub enum TicketPage {
    /// JSON of each wire `Ticket`, as its last write rendered it.
    Rendered(Vec<String>),
    Tickets(Vec<Ticket>),
}

/// The ticket use cases over one store and clock.
#[derive(Clone)]
pub struct Tickets {
    store: Arc<dyn Store>,
    clock: Clock,
}

/// `POST /start_service`, validated for shape.
#[derive(Debug, Clone, Default)]
pub struct StartService {
    pub open_id: String,
    pub human_service: bool,
    pub appointed_agents: Vec<String>,
}

/// `PUT /tickets/:id`: each field given becomes one event; all are appended together or none.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub status: Option<i64>,
    pub tag_names: Option<Vec<String>>,
    pub comment: Option<String>,
    /// `(field id, value)` pairs.
    pub customized_fields: Option<Vec<(String, String)>>,
    pub ticket_type: Option<i64>,
    pub solved: Option<i64>,
    pub channel: Option<i64>,
}

/// `POST /message`: the helpdesk bot messages a user outside tickets.
#[derive(Debug, Clone)]
pub struct OutsideMessage {
    pub receiver_id: String,
    pub receive_type: String,
    pub msg_type: String,
    pub content: String,
}

/// Who closes a ticket, in the emulator's `close` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closer {
    Bot,
    User,
    Agent(String),
}

/// What guests and agents do in the Feishu app (which has no API), as the admin API's emulator
/// offers it.
#[derive(Debug, Clone)]
pub enum Action {
    GuestText(String),
    /// Image bytes, one message.
    GuestImages(Vec<Vec<u8>>),
    BotText(String),
    AgentText {
        agent_id: String,
        content: String,
    },
    RequestHuman,
    AgentEnter(String),
    AgentLeave(String),
    AddCollaborator(String),
    /// A status change, by an agent when one is named.
    Status {
        status: i64,
        agent_id: Option<String>,
    },
    Close(Closer),
    Reopen,
    Rate {
        score: i64,
        reason: Option<Reason>,
    },
}

/// What an emulator action did.
#[derive(Debug, Clone)]
pub struct Acted {
    pub ticket: Ticket,
    /// The message it posted, if any.
    pub message_id: Option<String>,
}

/// Outcome of rebuilding ticket projections from the event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RebuildReport {
    pub tickets: u64,
    /// Tickets whose stored projection differed from the one rebuilt from the log.
    pub changed: u64,
}

/// A ticket to create from its first events, without pushing events (bulk loads).
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: TicketId,
    pub chat_id: String,
    pub events: Vec<TicketEvent>,
}

fn text_content(content: &str) -> String {
    larkdesk_domain::message_content::text(content)
}

pub(crate) fn image_content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xff, 0xd8, ..] => "image/jpeg",
        [b'G', b'I', b'F', ..] => "image/gif",
        _ => "application/octet-stream",
    }
}

/// The text of a message's content JSON (`{"content": …}` or `{"text": …}`), else the raw text.
fn message_text_of(content: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(content).ok();
    parsed
        .as_ref()
        .and_then(|v| v.get("content").or_else(|| v.get("text")))
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| content.to_owned(), str::to_owned)
}

fn message(sender: Sender, sender_id: String, msg_type: &str, content: String) -> EventKind {
    EventKind::Message {
        sender,
        sender_id,
        message_id: ids::new_message_id(),
        msg_type: msg_type.to_owned(),
        content,
    }
}

impl Tickets {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    fn at(&self, actor: Actor, kind: EventKind) -> TicketEvent {
        TicketEvent {
            at_ms: self.clock.now_ms(),
            actor,
            kind,
        }
    }

    pub async fn get(&self, helpdesk: &Helpdesk, id: TicketId) -> Result<Ticket> {
        Ok(self.store.ticket(helpdesk, id).await?)
    }

    /// The ticket as `GET /tickets/:id` shows it: its current render when there is one (see
    /// [`TicketStore::rendered_ticket`]), else read from its projection.
    pub async fn get_rendered(&self, helpdesk: &Helpdesk, id: TicketId) -> Result<Rendered> {
        if let Some(json) = self.store.rendered_ticket(helpdesk, id).await? {
            return Ok(Rendered::Json(json));
        }
        Ok(Rendered::Ticket(Box::new(self.get(helpdesk, id).await?)))
    }

    /// The store's count of commits that added or removed tickets (see
    /// [`larkdesk_store::TicketStore::ticket_set_version`]).
    pub fn ticket_set_version(&self) -> u64 {
        self.store.ticket_set_version()
    }

    /// See [`TicketStore::list_tickets`].
    pub async fn list(&self, helpdesk: &Helpdesk, list: ListRequest<'_>) -> Result<(i64, Vec<Ticket>)> {
        check_page(list)?;
        Ok(self.store.list_tickets(helpdesk, list).await?)
    }

    /// `GET /tickets`: [`Tickets::list`]'s page as the tickets' stored renders when they are
    /// all current (see [`TicketStore::list_ticket_renders`]), so the page needs no rendering;
    /// else read from projections, as [`Tickets::get_rendered`] does for one ticket.
    pub async fn list_page(&self, helpdesk: &Helpdesk, list: ListRequest<'_>) -> Result<(i64, TicketPage)> {
        check_page(list)?;
        let (total, renders) = self.store.list_ticket_renders(helpdesk, list).await?;
        if let Some(renders) = renders {
            return Ok((total, TicketPage::Rendered(renders)));
        }
        let (total, tickets) = self
            .store
            .list_tickets(helpdesk, list.known_total(Some(total)))
            .await?;
        Ok((total, TicketPage::Tickets(tickets)))
    }

    /// A page of the helpdesk's tickets for the console's queue, newest first, of any of
    /// `statuses` (all when empty), after `before` (see [`TicketStore::ticket_page`]). Several
    /// statuses are read one index range each and merged, so no page sorts more than
    /// `statuses.len() * limit` rows.
    pub async fn page(
        &self,
        helpdesk: &Helpdesk,
        statuses: &[i64],
        before: Option<(i64, TicketId)>,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        let limit = limit.clamp(1, 200);
        if statuses.is_empty() {
            return Ok(self.store.ticket_page(helpdesk, None, before, limit).await?);
        }
        let mut merged = Vec::new();
        for status in statuses {
            merged.extend(
                self.store
                    .ticket_page(helpdesk, Some(*status), before, limit)
                    .await?,
            );
        }
        merged.sort_by(|a, b| {
            (b.created_at, ticket_order(&b.ticket_id)).cmp(&(a.created_at, ticket_order(&a.ticket_id)))
        });
        merged.truncate(usize::try_from(limit).unwrap_or(200));
        Ok(merged)
    }

    pub async fn messages(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        range_ms: (Option<i64>, Option<i64>),
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<TicketMessage>)> {
        let (total, page) = self
            .store
            .list_messages(helpdesk, id, range_ms, offset, limit)
            .await?;
        let bytes: usize = page.iter().map(|m| m.content.len()).sum();
        if bytes > limits::MESSAGE_PAGE_MAX_BYTES {
            return Err(Error::invalid(format!(
                "this page would hold {bytes} bytes of message content (at most {} per page): ask a smaller page_size",
                limits::MESSAGE_PAGE_MAX_BYTES
            )));
        }
        Ok((total, page))
    }

    pub async fn events(&self, helpdesk: &Helpdesk, id: TicketId) -> Result<Vec<TicketEvent>> {
        Ok(self.store.ticket_events(helpdesk, id).await?)
    }

    /// `(content_type, bytes)` of an image of a message of a ticket.
    pub async fn image(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        message_id: &str,
        index: i64,
    ) -> Result<(String, Vec<u8>)> {
        if index < 0 {
            return Err(Error::invalid("index must not be negative"));
        }
        match self.store.image(helpdesk, id, message_id, index).await {
            Ok(image) => Ok(image),
            // The message is the ticket's but has no image at that index: a bad `index`
            // (400/154000, as the doc says), not a missing resource.
            Err(larkdesk_store::StoreError::NotFound) => {
                let event_id = ids::message_event_id(message_id);
                match self.store.message_by_event_id(helpdesk, id, &event_id).await {
                    Ok(m) if m.message.message_id == message_id => {
                        Err(Error::invalid("index is past the message's last image"))
                    }
                    Ok(_) | Err(larkdesk_store::StoreError::NotFound) => {
                        Err(larkdesk_store::StoreError::NotFound.into())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An agent of the tenant, by open_id.
    async fn agent(&self, helpdesk: &Helpdesk, id: &str) -> Result<String> {
        match self.store.user(helpdesk.tenant_id, id).await {
            Ok(u) if u.is_agent => Ok(id.to_owned()),
            Ok(_) | Err(larkdesk_store::StoreError::NotFound) => {
                Err(Error::invalid(format!("{id} is not an agent")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Open a conversation for a user of the tenant: a ticket (channel 9, Open API) and its
    /// chat. Appointed agents enter at once. Returns the chat id and the ticket.
    pub async fn start_service(&self, caller: &Caller, req: StartService) -> Result<(String, Ticket)> {
        self.open_conversation(&caller.helpdesk, req).await
    }

    /// [`Self::start_service`] on a helpdesk (whose tenant the user must belong to), as the
    /// console's guest view opens a conversation.
    pub async fn open_conversation(
        &self,
        helpdesk: &Helpdesk,
        req: StartService,
    ) -> Result<(String, Ticket)> {
        if !req.appointed_agents.is_empty() && !req.human_service {
            return Err(Error::invalid("appointed_agents needs human_service=true"));
        }
        let guest = match self.store.user(helpdesk.tenant_id, &req.open_id).await {
            Ok(u) => u.user.id,
            Err(larkdesk_store::StoreError::NotFound) => {
                return Err(Error::invalid("open_id is not a user of this tenant"));
            }
            Err(e) => return Err(e.into()),
        };
        for agent in &req.appointed_agents {
            self.agent(helpdesk, agent).await?;
        }
        let mut events = vec![self.at(
            Actor::Guest(guest.clone()),
            EventKind::Created {
                guest_id: guest,
                channel: CHANNEL_OPEN_API,
                human_service: req.human_service,
            },
        )];
        for agent in req.appointed_agents {
            events.push(self.at(Actor::System, EventKind::AgentEntered { agent_id: agent }));
        }
        let chat_id = ids::new_chat_id();
        let ticket = create(
            &*self.store,
            helpdesk,
            TicketId::generate(),
            &chat_id,
            events,
            &[],
        )
        .await?;
        Ok((chat_id, ticket))
    }

    /// The stored form of `(field id, value)` pairs; an unknown field is refused.
    async fn field_values(
        &self,
        helpdesk: &Helpdesk,
        pairs: Vec<(String, String)>,
    ) -> Result<Vec<FieldValue>> {
        let mut fields = Vec::new();
        for (field_id, value) in pairs {
            let def = match self.store.field(helpdesk, &field_id).await {
                Ok(def) => def,
                Err(larkdesk_store::StoreError::NotFound) => {
                    return Err(Error::invalid(format!("unknown customized field {field_id}")));
                }
                Err(e) => return Err(e.into()),
            };
            fields.push(FieldValue {
                id: def.ticket_customized_field_id,
                value,
                key_name: def.key_name,
                display_name: def.display_name,
                position: def.position.parse().unwrap_or_default(),
                required: def.required,
                editable: def.editable,
            });
        }
        Ok(fields)
    }

    /// An agent sets customized fields of a ticket (the console's ticket view).
    pub async fn set_fields(
        &self,
        helpdesk: &Helpdesk,
        id: TicketId,
        agent_id: &str,
        pairs: Vec<(String, String)>,
    ) -> Result<Ticket> {
        let agent = self.agent(helpdesk, agent_id).await?;
        let fields = self.field_values(helpdesk, pairs).await?;
        if fields.is_empty() {
            return Err(Error::invalid("no customized field to set"));
        }
        let event = self.at(Actor::Agent(agent), EventKind::CustomizedFieldsSet { fields });
        change(&*self.store, helpdesk, id, |_, _| Ok(vec![event])).await
    }

    /// Change ticket data (`PUT /tickets/:id`).
    pub async fn update(&self, caller: &Caller, id: TicketId, req: TicketUpdate) -> Result<Ticket> {
        caller.may_handle_tickets()?;
        let status = req
            .status
            .map(|code| {
                TicketStatus::from_code(code)
                    .ok_or_else(|| Error::invalid("status must be 1-5, 50, 51 or 52"))
            })
            .transpose()?;
        // Lookups that do not depend on the ticket's state happen before its lock is taken.
        let mut tagged = None;
        if let Some(names) = req.tag_names.filter(|n| !n.is_empty()) {
            if names
                .iter()
                .any(|n| n.trim().is_empty() || n.chars().count() > 100)
            {
                return Err(Error::invalid("tag names must be 1-100 characters"));
            }
            tagged = Some(self.store.tags_for_names(&caller.helpdesk, &names).await?);
        }
        let fields = self
            .field_values(&caller.helpdesk, req.customized_fields.unwrap_or_default())
            .await?;
        let actor = caller.actor();
        let at = |kind| self.at(actor.clone(), kind);
        change(&*self.store, &caller.helpdesk, id, |current, state| {
            let mut events = Vec::new();
            if let Some(status) = status {
                if status.is_closed() {
                    let by_id = caller.user.as_ref().map(|u| u.user.id.clone());
                    events.push(at(EventKind::Closed {
                        status: status.code(),
                        by_id,
                    }));
                } else {
                    // Opening a closed ticket reopens it first; the status follows.
                    if TicketStatus::from_code(current.status).is_some_and(TicketStatus::is_closed) {
                        events.push(at(EventKind::Reopened));
                    }
                    events.push(at(EventKind::StatusChanged {
                        status: status.code(),
                    }));
                }
            }
            if let Some(tags) = tagged {
                events.push(at(EventKind::Tagged { tags }));
            }
            if let Some(content) = req.comment {
                let earlier = state.comments as i64;
                let (user_id, user_name, user_avatar_url) = match &caller.user {
                    Some(u) => (
                        ids::stable_numeric_id(&u.user.id),
                        u.user.name.clone(),
                        u.user.avatar_url.clone(),
                    ),
                    None => (0, String::new(), String::new()),
                };
                events.push(at(EventKind::Commented {
                    comment_id: earlier + 1,
                    content,
                    user_id,
                    user_name,
                    user_avatar_url,
                }));
            }
            if !fields.is_empty() {
                events.push(at(EventKind::CustomizedFieldsSet { fields }));
            }
            if let Some(ticket_type) = req.ticket_type {
                events.push(at(EventKind::StageChanged { ticket_type }));
            }
            if let Some(solve) = req.solved {
                events.push(at(EventKind::SolvedSet { solve }));
            }
            if let Some(channel) = req.channel {
                events.push(at(EventKind::ChannelSet { channel }));
            }
            if events.is_empty() {
                return Err(Error::invalid("the body must change at least one field"));
            }
            Ok(events)
        })
        .await
    }

    /// A ticket message (`POST /tickets/:id/messages`): with a tenant token the helpdesk's bot
    /// speaks; with an agent's user token, the agent (who must be one of the ticket's agents).
    pub async fn post_message(
        &self,
        caller: &Caller,
        id: TicketId,
        msg_type: &str,
        content: String,
    ) -> Result<String> {
        let (sender, sender_id, actor) = match &caller.user {
            Some(u) if u.is_agent => (Sender::Agent, u.user.id.clone(), Actor::Agent(u.user.id.clone())),
            Some(_) => return Err(Error::Forbidden("only agents can post ticket messages".into())),
            // The bot has no open_id: its messages carry an empty `user_id`, whichever path
            // (API, FAQ answer, emulator) they came by.
            None => (Sender::Bot, String::new(), Actor::Bot),
        };
        limits::message_content(msg_type, &content).map_err(Error::Invalid)?;
        let content = larkdesk_domain::message_content::normalize(msg_type, &content);
        let kind = message(sender, sender_id, msg_type, content);
        let message_id = message_id_of(&kind).expect("made a message above");
        let event = self.at(actor, kind);
        change(&*self.store, &caller.helpdesk, id, |_, _| Ok(vec![event])).await?;
        Ok(message_id)
    }

    /// The bot answers a guest message with FAQs while the ticket is still with the bot
    /// (`POST /tickets/:id/answer_user_query`).
    pub async fn answer_user_query(
        &self,
        caller: &Caller,
        id: TicketId,
        event_id: &str,
        faqs: &[(String, f64)],
    ) -> Result<()> {
        self.answer_with_faqs(&caller.helpdesk, String::new(), id, event_id, faqs)
            .await
    }

    /// The text of the guest message whose `ticket_message.created` event is `event_id`.
    pub async fn asked(&self, helpdesk: &Helpdesk, id: TicketId, event_id: &str) -> Result<String> {
        match self.store.message_by_event_id(helpdesk, id, event_id).await {
            Ok(asked) => Ok(message_text_of(&asked.message.content)),
            Err(larkdesk_store::StoreError::NotFound) => Err(Error::Missing(
                "no message of this ticket has this event_id".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The bot (`bot_id` sends) answers the message of `event_id` with FAQs: `(faq id, score)`,
    /// each an online FAQ of the helpdesk. Only while the ticket is open and with the bot.
    pub async fn answer_with_faqs(
        &self,
        helpdesk: &Helpdesk,
        bot_id: String,
        id: TicketId,
        event_id: &str,
        faqs: &[(String, f64)],
    ) -> Result<()> {
        self.asked(helpdesk, id, event_id).await?;
        let mut questions = Vec::with_capacity(faqs.len());
        for (faq_id, _) in faqs {
            let known = match larkdesk_domain::ids::FaqId::parse(faq_id) {
                Some(faq) => match self.store.faq(helpdesk, faq).await {
                    Ok(f) if f.status == crate::faqs::ONLINE => Some(f.question),
                    Ok(_) | Err(larkdesk_store::StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            let Some(question) = known else {
                return Err(Error::Missing(format!(
                    "faq {faq_id:?} is not a FAQ of this helpdesk"
                )));
            };
            questions.push(question);
        }
        // A text message like any other: the questions it offers, one a line.
        let content = text_content(&questions.join("\n"));
        let answer = self.at(Actor::Bot, message(Sender::Bot, bot_id, "text", content));
        change(&*self.store, helpdesk, id, |current, _| {
            let closed = TicketStatus::from_code(current.status).is_some_and(TicketStatus::is_closed);
            if current.ticket_type != TicketStage::Bot as i64 || closed {
                return Err(Error::invalid("the ticket is no longer with the bot"));
            }
            Ok(vec![answer])
        })
        .await?;
        Ok(())
    }

    /// The helpdesk bot messages a user of the tenant (`POST /message`). Returns the message id.
    pub async fn bot_message(&self, caller: &Caller, m: OutsideMessage) -> Result<String> {
        limits::message_content(&m.msg_type, &m.content).map_err(Error::Invalid)?;
        match self.store.user(caller.app.tenant_id, &m.receiver_id).await {
            Ok(_) => {}
            Err(larkdesk_store::StoreError::NotFound) => {
                return Err(Error::Missing("receiver_id is not a user of this tenant".into()));
            }
            Err(e) => return Err(e.into()),
        }
        // `receive_type=chat` goes to the user's service group, which the doc says fails while
        // the user has an active ticket (the group is the ticket's chat then).
        if m.receive_type == "chat" {
            let active = TicketFilter {
                guest_id: Some(m.receiver_id.clone()),
                status_list: vec![1, 2, 3, 4, 5],
                ..Default::default()
            };
            let (open, _) = self
                .store
                .list_tickets(&caller.helpdesk, ListRequest::new(&active, 0, 1))
                .await?;
            if open > 0 {
                return Err(Error::MethodForbidden(
                    "the user has an active ticket: a chat message cannot go to their service group now; use receive_type=user".into(),
                ));
            }
        }
        let message_id = ids::new_message_id();
        let record = BotMessage {
            message_id: message_id.clone(),
            receiver_id: m.receiver_id,
            receive_type: m.receive_type,
            msg_type: m.msg_type,
            content: m.content,
            at_ms: self.clock.now_ms(),
        };
        self.store.record_bot_message(&caller.helpdesk, &record).await?;
        Ok(message_id)
    }

    /// One lifecycle step as the guest, an agent or the bot (the admin API's emulator).
    pub async fn act(&self, helpdesk: &Helpdesk, id: TicketId, action: Action) -> Result<Acted> {
        if let Action::GuestText(content) | Action::BotText(content) | Action::AgentText { content, .. } =
            &action
        {
            limits::message_content("text", content).map_err(Error::Invalid)?;
        }
        let current = self.store.ticket(helpdesk, id).await?;
        let guest_id = current.guest.id.clone();
        let guest = Actor::Guest(guest_id.clone());
        let mut images = Vec::new();
        let (actor, kind) = match action {
            Action::GuestText(content) => (
                guest,
                message(Sender::Guest, guest_id, "text", text_content(&content)),
            ),
            Action::GuestImages(bytes) => {
                if bytes.is_empty() {
                    return Err(Error::invalid("images is required"));
                }
                let message_id = ids::new_message_id();
                let keys: Vec<String> = (0..bytes.len())
                    .map(|i| format!("img_{message_id}_{i}"))
                    .collect();
                let content =
                    serde_json::json!({"msg_type": "image", "image_keys": keys, "image_key": keys[0]});
                images = bytes;
                let kind = EventKind::Message {
                    sender: Sender::Guest,
                    sender_id: guest_id,
                    message_id,
                    msg_type: "image".into(),
                    content: content.to_string(),
                };
                (guest, kind)
            }
            Action::BotText(content) => (
                Actor::Bot,
                message(Sender::Bot, String::new(), "text", text_content(&content)),
            ),
            Action::AgentText { agent_id, content } => {
                let agent = self.agent(helpdesk, &agent_id).await?;
                (
                    Actor::Agent(agent.clone()),
                    message(Sender::Agent, agent, "text", text_content(&content)),
                )
            }
            Action::RequestHuman => (guest, EventKind::HumanRequested),
            Action::AgentEnter(agent) => {
                let agent_id = self.agent(helpdesk, &agent).await?;
                (Actor::System, EventKind::AgentEntered { agent_id })
            }
            Action::AgentLeave(agent) => {
                let agent_id = self.agent(helpdesk, &agent).await?;
                (Actor::System, EventKind::AgentLeft { agent_id })
            }
            Action::AddCollaborator(user_id) => (Actor::System, EventKind::CollaboratorAdded { user_id }),
            Action::Status { status, agent_id } => {
                // A status change names its agent when there is one; otherwise the system acts.
                let agent = match agent_id {
                    Some(id) => self.agent(helpdesk, &id).await.ok(),
                    None => None,
                };
                (
                    agent.map_or(Actor::System, Actor::Agent),
                    EventKind::StatusChanged { status },
                )
            }
            Action::Close(Closer::Bot) => (
                Actor::Bot,
                EventKind::Closed {
                    status: TicketStatus::ClosedByBot.code(),
                    by_id: None,
                },
            ),
            Action::Close(Closer::User) => (
                guest,
                EventKind::Closed {
                    status: TicketStatus::ClosedByUser.code(),
                    by_id: Some(guest_id),
                },
            ),
            Action::Close(Closer::Agent(agent)) => {
                let agent = self.agent(helpdesk, &agent).await?;
                (
                    Actor::Agent(agent.clone()),
                    EventKind::Closed {
                        status: TicketStatus::ClosedByAgent.code(),
                        by_id: Some(agent),
                    },
                )
            }
            Action::Reopen => (guest, EventKind::Reopened),
            Action::Rate { score, reason } => (
                guest,
                EventKind::Rated {
                    score,
                    dissatisfaction_reason: reason,
                },
            ),
        };
        let message_id = message_id_of(&kind);
        let event = self.at(actor, kind);
        let ticket = change(&*self.store, helpdesk, id, |_, _| Ok(vec![event])).await?;
        if let Some(message_id) = &message_id {
            for (index, bytes) in images.iter().enumerate() {
                self.store
                    .put_image(message_id, index as i64, image_content_type(bytes), bytes)
                    .await?;
            }
        }
        Ok(Acted { ticket, message_id })
    }

    /// Decode base64 images for [`Action::GuestImages`].
    pub fn decode_images(images: &[String]) -> Result<Vec<Vec<u8>>> {
        images
            .iter()
            .map(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| Error::invalid("images must be base64"))
            })
            .collect()
    }

    /// Recompute every ticket's projection (row, kept state and messages) from its whole log;
    /// report how many differed. Each ticket is rebuilt in its own transaction holding its lock,
    /// so no change slips in between reading the log and writing the projection.
    pub async fn rebuild(&self) -> Result<RebuildReport> {
        let mut report = RebuildReport::default();
        let mut helpdesks: HashMap<String, Helpdesk> = HashMap::new();
        for (id, helpdesk_id) in self.store.all_tickets().await? {
            let helpdesk = match helpdesks.get(&helpdesk_id) {
                Some(known) => known.clone(),
                None => {
                    let read = self.store.helpdesk_by_public_id(&helpdesk_id).await?;
                    helpdesks.entry(helpdesk_id).or_insert(read).clone()
                }
            };
            let mut tx = self.store.begin_write().await?;
            let locked = tx.lock(&helpdesk, id).await?;
            let log = tx.log(id).await?;
            let replayed = log::Projected::replay(id, &helpdesk.helpdesk_id, &log)?;
            let messages = log::messages(&log);
            let stored_messages = tx.message_positions(id).await?;
            let same_messages = stored_messages.len() == messages.len()
                && stored_messages
                    .iter()
                    .zip(&messages)
                    .all(|((message_id, position), m)| {
                        *message_id == m.message_id && *position == m.position
                    });
            let same_state = locked.state.as_ref() == Some(replayed.state());
            if locked.projection != *replayed.ticket() || !same_state || !same_messages {
                report.changed += 1;
                tx.replace(id, replayed.ticket(), replayed.state(), &messages)
                    .await?;
            }
            // Renders too: one may be missing (tickets stored before renders were kept) or made
            // at an older directory version.
            render(&mut *tx, &helpdesk, &[(id, replayed.ticket())]).await?;
            tx.commit().await?;
            report.tickets += 1;
        }
        Ok(report)
    }

    /// Create many tickets in one transaction, without pushing events (a bulk load, like an
    /// import).
    pub async fn create_many(&self, helpdesk: &Helpdesk, batch: &[NewTicket]) -> Result<()> {
        let created = batch
            .iter()
            .map(|t| Ok(log::create(t.id, &helpdesk.helpdesk_id, t.events.clone())?))
            .collect::<Result<Vec<_>>>()?;
        let rows: Vec<NewTicketRows<'_>> = batch
            .iter()
            .zip(&created)
            .map(|(t, c)| NewTicketRows {
                id: t.id,
                chat_id: &t.chat_id,
                projection: &c.after,
                log: &c.events,
                messages: &c.new_messages,
                state: &c.state,
            })
            .collect();
        let projections: Vec<(TicketId, &Ticket)> = batch
            .iter()
            .zip(&created)
            .map(|(t, c)| (t.id, &c.after))
            .collect();
        let mut tx = self.store.begin_write().await?;
        tx.insert(helpdesk, &rows).await?;
        render(&mut *tx, helpdesk, &projections).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The id of the message an event posts, if it posts one.
/// A ticket id as a number, for ordering (ids are digit strings of one length as a rule).
fn ticket_order(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

fn message_id_of(kind: &EventKind) -> Option<String> {
    match kind {
        EventKind::Message { message_id, .. } => Some(message_id.clone()),
        _ => None,
    }
}

/// Create a ticket from its first events (a `Created` or `Imported` event first), adding the
/// people it names that the directory does not know yet (`new_people`: profile, is agent).
pub async fn create(
    store: &dyn Store,
    helpdesk: &Helpdesk,
    id: TicketId,
    chat_id: &str,
    events: Vec<TicketEvent>,
    new_people: &[(&TicketUser, bool)],
) -> Result<Ticket> {
    let change = log::create(id, &helpdesk.helpdesk_id, events)?;
    let messages = &change.new_messages;
    let mut tx = store.begin_write().await?;
    // People an import names join the directory in the same transaction: all or nothing.
    tx.add_people(helpdesk.tenant_id, new_people).await?;
    let row = NewTicketRows {
        id,
        chat_id,
        projection: &change.after,
        log: &change.events,
        messages,
        state: &change.state,
    };
    tx.insert(helpdesk, &[row]).await?;
    let ticket = finish(&mut *tx, helpdesk, id, chat_id, &change).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Append to a ticket's log the events `decide` makes of the locked ticket and its kept state.
/// Only the new events are applied, to the stored projection; a ticket stored before its state
/// was kept (migration 0007) is replayed from its whole log once.
pub async fn change(
    store: &dyn Store,
    helpdesk: &Helpdesk,
    id: TicketId,
    decide: impl FnOnce(&Ticket, &LogState) -> Result<Vec<TicketEvent>> + Send,
) -> Result<Ticket> {
    let mut tx = store.begin_write().await?;
    let locked = tx.lock(helpdesk, id).await?;
    let resumed = locked.state.is_some();
    let current = match locked.state {
        Some(state) => log::Projected::resume(locked.projection, state),
        None => log::Projected::replay(id, &helpdesk.helpdesk_id, &tx.log(id).await?)?,
    };
    let new = decide(current.ticket(), current.state())?;
    let change = current.append(new)?;
    let subscribers = tx.subscribers(helpdesk.id).await?;
    let (mut after, directory_version, mut bodies) = renders(&mut *tx, helpdesk, &[&change.after]).await?;
    let render = Render {
        directory_version,
        body: &bodies.remove(0),
    };
    tx.append(id, &change, resumed, render).await?;
    let after = after.remove(0);
    notify(&mut *tx, &subscribers, &locked.chat_id, &change, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Store a ticket given as a ready-made snapshot (imports, demo data): its log starts with an
/// `Imported` event, and it pushes nothing. People it names that the tenant's directory does
/// not know yet are added with the profile given (agents and the owner as agents); known
/// people keep their directory profile.
pub async fn import(store: &dyn Store, helpdesk: &Helpdesk, ticket: &Ticket) -> Result<()> {
    let id = TicketId::parse(&ticket.ticket_id).ok_or_else(|| Error::invalid("ticket_id must be digits"))?;
    let event = TicketEvent {
        at_ms: ticket.updated_at.max(ticket.created_at),
        actor: Actor::System,
        kind: EventKind::Imported {
            snapshot: Box::new(ImportedTicket::from(ticket)),
        },
    };
    let agents = ticket.agents.iter().chain(&ticket.agent_owner).map(|u| (u, true));
    let others = std::iter::once(&ticket.guest)
        .chain(&ticket.collaborators)
        .chain(&ticket.closed_by)
        .map(|u| (u, false));
    let people: Vec<_> = agents.chain(others).collect();
    create(store, helpdesk, id, "", vec![event], &people)
        .await
        .map(drop)
}

/// Tickets with their people's profiles filled from the directory, the directory version
/// those were read at, and their `GET /tickets/:id` renders.
async fn renders(
    tx: &mut dyn TicketWrite,
    helpdesk: &Helpdesk,
    projections: &[&Ticket],
) -> Result<(Vec<Ticket>, i64, Vec<String>)> {
    let mut tickets: Vec<Ticket> = projections.iter().map(|t| (*t).clone()).collect();
    let profiles = tx.profiles(helpdesk.tenant_id, &people_named(&tickets)).await?;
    fill_people(&profiles.people, &mut tickets);
    // A ticket holds strings, numbers, lists and string-keyed objects: it always serializes.
    let bodies: Vec<String> = tickets
        .iter()
        .map(|t| serde_json::to_string(t).expect("a ticket serializes to JSON"))
        .collect();
    Ok((tickets, profiles.directory_version, bodies))
}

/// Fill the people of projections from the directory and keep each ticket's `GET /tickets/:id`
/// render, in the transaction that wrote them; the tickets with their people's profiles.
async fn render(
    tx: &mut dyn TicketWrite,
    helpdesk: &Helpdesk,
    projections: &[(TicketId, &Ticket)],
) -> Result<Vec<Ticket>> {
    let tickets: Vec<&Ticket> = projections.iter().map(|(_, t)| *t).collect();
    let (tickets, directory_version, bodies) = renders(tx, helpdesk, &tickets).await?;
    let renders: Vec<(TicketId, &str)> = projections
        .iter()
        .zip(&bodies)
        .map(|((id, _), body)| (*id, body.as_str()))
        .collect();
    tx.put_renders(helpdesk, directory_version, &renders).await?;
    Ok(tickets)
}

/// Queue what a change pushes to subscribed apps, in its transaction, and return the ticket
/// after it with its people's profiles.
async fn finish(
    tx: &mut dyn TicketWrite,
    helpdesk: &Helpdesk,
    id: TicketId,
    chat_id: &str,
    change: &Appended,
) -> Result<Ticket> {
    let subscribers = tx.subscribers(helpdesk.id).await?;
    let after = render(tx, helpdesk, &[(id, &change.after)]).await?.remove(0);
    notify(tx, &subscribers, chat_id, change, &after).await?;
    Ok(after)
}

/// Queue what `change` pushes to `subscribers`, in its transaction (`after`: the ticket after
/// it, with its people's profiles).
async fn notify(
    tx: &mut dyn TicketWrite,
    subscribers: &[Subscriber],
    chat_id: &str,
    change: &Appended,
    after: &Ticket,
) -> Result<()> {
    if !subscribers.is_empty() {
        // Only the stage, status and update time of the ticket before are notified, never its
        // people, so it needs no profiles.
        let notes = larkdesk_domain::notify::notifications(
            change.before.as_ref(),
            after,
            &change.events,
            change.earlier_messages,
            chat_id,
        );
        let at_ms = change.events.last().map_or(0, |e| e.at_ms);
        tx.enqueue(&outbox::entries(subscribers, &notes, at_ms)).await?;
    }
    Ok(())
}

/// A page no deeper than the 10,000 tickets a list can page through. Checked: `offset` comes
/// from the caller's page number, which may be near i64::MAX.
fn check_page(list: ListRequest<'_>) -> Result<()> {
    if list
        .offset
        .checked_add(list.limit)
        .is_none_or(|end| end > larkdesk_store::LIST_CAP)
    {
        return Err(Error::invalid(
            "at most 10000 tickets can be paged through; narrow the filters",
        ));
    }
    Ok(())
}
