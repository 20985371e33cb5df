//! A change to a ticket's event log, as pure functions: what the store writes and what the
//! service notifies about.
//!
//! - The log is in commit order. A change stamped a moment before a concurrent one that committed
//!   first takes that one's time ([`clamp_new_event_times`]), so a log never runs backwards.
//! - The ticket before and after a change are projections of the log ([`crate::lifecycle`]); a
//!   change the lifecycle refuses is refused whole.
//! - A ticket's messages are its `Message` events in log order, numbered from 1 ([`messages`]);
//!   each one's `event_id` is derived from its message id, so a rebuild reproduces it exactly.

use larkdesk_wire::ticket::Ticket;

use crate::events::{EventKind, TicketEvent};
use crate::ids::{self, TicketId};
use crate::lifecycle::{self, LifecycleError, Replay, ReplayState};
use serde::{Deserialize, Serialize};

/// A chat message of a ticket as its log implies it: a row of the messages projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMessage {
    pub message_id: String,
    /// The id of its `ticket_message.created` event (what `answer_user_query` is given back).
    pub event_id: String,
    pub msg_type: String,
    pub content: String,
    /// 1 bot, 2 guest, 3 agent.
    pub sender_type: i64,
    pub sender_id: String,
    pub created_at: i64,
    /// Position among the ticket's messages, from 1.
    pub position: i64,
    /// The `seq` of its event in the ticket's log (from 1): a message row is stored under its
    /// event's row.
    pub seq: i64,
}

/// The messages `events` hold, the first event being the log's `first_seq`th, numbered from
/// `first_position`.
fn messages_from(events: &[TicketEvent], first_seq: usize, first_position: i64) -> Vec<LogMessage> {
    events
        .iter()
        .zip(first_seq as i64..)
        .filter_map(|(e, seq)| match &e.kind {
            EventKind::Message {
                sender,
                sender_id,
                message_id,
                msg_type,
                content,
            } => Some((seq, e.at_ms, sender, sender_id, message_id, msg_type, content)),
            _ => None,
        })
        .zip(first_position..)
        .map(
            |((seq, at_ms, sender, sender_id, message_id, msg_type, content), position)| LogMessage {
                event_id: ids::message_event_id(message_id),
                message_id: message_id.clone(),
                msg_type: msg_type.clone(),
                content: content.clone(),
                sender_type: sender.code(),
                sender_id: sender_id.clone(),
                created_at: at_ms,
                position,
                seq,
            },
        )
        .collect()
}

/// Every message of a log, in order.
pub fn messages(log: &[TicketEvent]) -> Vec<LogMessage> {
    messages_from(log, 1, 1)
}

/// Move every event from `already` on up to the latest time before it.
pub fn clamp_new_event_times(events: &mut [TicketEvent], already: usize) {
    let latest = events[..already]
        .iter()
        .map(|e| e.at_ms)
        .max()
        .unwrap_or(i64::MIN);
    clamp_after(&mut events[already..], latest);
}

/// Move `events` up to `latest` and each to the latest time before it.
fn clamp_after(events: &mut [TicketEvent], mut latest: i64) {
    for event in events {
        event.at_ms = event.at_ms.max(latest);
        latest = event.at_ms;
    }
}

/// The ticket `log` describes (people by id only).
pub fn project(id: TicketId, helpdesk_id: &str, log: &[TicketEvent]) -> Result<Ticket, LifecycleError> {
    lifecycle::project(&id.to_string(), helpdesk_id, log)
}

/// What is kept beside a ticket's projection so that a change applies only its new events: the
/// replay's state, and the counts a change numbers its events, messages and comments from.
/// Stored as JSON; a field added later needs a default that stored states can take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogState {
    /// Events in the log; the next one's `seq` is this + 1.
    pub events: usize,
    /// Messages; the next one's position is this + 1.
    pub messages: usize,
    /// Comments (`Commented` events); the next comment's id is this + 1.
    pub comments: usize,
    pub replay: ReplayState,
}

impl LogState {
    fn count(&mut self, events: &[TicketEvent]) {
        self.events += events.len();
        for e in events {
            match e.kind {
                EventKind::Message { .. } => self.messages += 1,
                EventKind::Commented { .. } => self.comments += 1,
                _ => {}
            }
        }
    }
}

/// A ticket as its log leaves it: the projection and the state to continue from.
#[derive(Debug, Clone)]
pub struct Projected {
    ticket: Ticket,
    state: LogState,
}

impl Projected {
    /// A new ticket, before its first event.
    pub fn empty(id: TicketId, helpdesk_id: &str) -> Self {
        let (ticket, replay) = Replay::new(&id.to_string(), helpdesk_id).finish();
        Self {
            ticket,
            state: LogState {
                replay,
                ..LogState::default()
            },
        }
    }

    /// A ticket from its whole log (the reference; a store without a kept state uses it).
    pub fn replay(id: TicketId, helpdesk_id: &str, log: &[TicketEvent]) -> Result<Self, LifecycleError> {
        let (ticket, replay) = lifecycle::replay(&id.to_string(), helpdesk_id, log)?.finish();
        let mut state = LogState {
            replay,
            ..LogState::default()
        };
        state.count(log);
        Ok(Self { ticket, state })
    }

    /// A ticket from its stored projection (people by id only) and state.
    pub fn resume(ticket: Ticket, state: LogState) -> Self {
        Self { ticket, state }
    }

    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// Append `new` events: clamp them after the log's latest, apply only them, and number the
    /// new messages after the earlier ones. A refused event refuses the whole change.
    pub fn append(self, mut new: Vec<TicketEvent>) -> Result<Appended, LifecycleError> {
        let created = self.state.events > 0;
        // The log's latest event is the ticket's last change (or its creation or import).
        let latest = if created {
            self.ticket.created_at.max(self.ticket.updated_at)
        } else {
            i64::MIN
        };
        clamp_after(&mut new, latest);
        let before = created.then(|| self.ticket.clone());
        let mut replay = Replay::resume(self.ticket, self.state.replay.clone());
        for event in &new {
            replay.step(event)?;
        }
        let (after, replay) = replay.finish();
        let mut state = LogState {
            replay,
            ..self.state.clone()
        };
        state.count(&new);
        let new_messages = messages_from(&new, self.state.events + 1, self.state.messages as i64 + 1);
        Ok(Appended {
            before,
            after,
            events: new,
            first_seq: self.state.events + 1,
            earlier_messages: self.state.messages,
            new_messages,
            state,
        })
    }
}

/// A change appended to a log.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The ticket before the change; `None` for a new ticket.
    pub before: Option<Ticket>,
    pub after: Ticket,
    /// The events the change added, with their clamped times.
    pub events: Vec<TicketEvent>,
    /// `seq` of the first of them (from 1).
    pub first_seq: usize,
    /// How many messages the ticket had before.
    pub earlier_messages: usize,
    /// The messages the change added, numbered after the earlier ones.
    pub new_messages: Vec<LogMessage>,
    /// The state to keep beside `after`.
    pub state: LogState,
}

/// The first events of a new ticket: clamp, project, and find its messages.
pub fn create(id: TicketId, helpdesk_id: &str, events: Vec<TicketEvent>) -> Result<Appended, LifecycleError> {
    Projected::empty(id, helpdesk_id).append(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Actor, Sender};

    fn ev(at_ms: i64, kind: EventKind) -> TicketEvent {
        TicketEvent {
            at_ms,
            actor: Actor::System,
            kind,
        }
    }

    fn created(at_ms: i64) -> TicketEvent {
        ev(
            at_ms,
            EventKind::Created {
                guest_id: "ou_g".into(),
                channel: 9,
                human_service: false,
            },
        )
    }

    fn said(at_ms: i64, id: &str) -> TicketEvent {
        ev(
            at_ms,
            EventKind::Message {
                sender: Sender::Guest,
                sender_id: "ou_g".into(),
                message_id: id.into(),
                msg_type: "text".into(),
                content: "{}".into(),
            },
        )
    }

    #[test]
    fn late_stamps_take_the_latest_time_before_them() {
        let mut log = vec![
            created(1_000),
            said(5_000, "a"),
            said(3_000, "b"),
            said(4_000, "c"),
        ];
        clamp_new_event_times(&mut log, 2);
        let times: Vec<_> = log.iter().map(|e| e.at_ms).collect();
        assert_eq!(times, [1_000, 5_000, 5_000, 5_000]);
        let mut fresh = vec![said(3_000, "x"), said(2_000, "y")];
        clamp_new_event_times(&mut fresh, 0);
        assert_eq!((fresh[0].at_ms, fresh[1].at_ms), (3_000, 3_000));
    }

    #[test]
    fn messages_are_numbered_in_log_order_with_derived_event_ids() {
        let log = vec![
            created(1),
            said(2, "om_a"),
            ev(3, EventKind::HumanRequested),
            said(4, "om_b"),
        ];
        let m = messages(&log);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].position, m[1].position), (1, 2));
        assert_eq!((m[0].seq, m[1].seq), (2, 4), "the seq of each message's event");
        assert_eq!((m[1].created_at, m[1].sender_type), (4, 2));
        assert_eq!(m[0].event_id, ids::message_event_id("om_a"));
    }

    #[test]
    fn an_append_knows_before_after_and_its_new_messages() {
        let id = TicketId::new(7);
        let log = vec![created(1_000), said(2_000, "om_a")];
        let current = Projected::replay(id, "9", &log).unwrap();
        assert_eq!(current.ticket().updated_at, 2_000);
        assert_eq!((current.state().events, current.state().messages), (2, 1));
        let done = current.append(vec![said(1_500, "om_b")]).unwrap();
        assert_eq!(done.first_seq, 3);
        assert_eq!(done.events[0].at_ms, 2_000, "clamped");
        assert_eq!(done.before.as_ref().map(|t| t.updated_at), Some(2_000));
        assert_eq!(done.after.ticket_id, "7");
        assert_eq!(done.new_messages.len(), 1);
        assert_eq!((done.earlier_messages, done.new_messages[0].position), (1, 2));
        assert_eq!(done.new_messages[0].seq, 3, "numbered after the log's events");
        assert_eq!((done.state.events, done.state.messages), (3, 2));

        let new = create(id, "9", vec![created(1_000)]).unwrap();
        assert!(new.before.is_none() && new.new_messages.is_empty());
        assert_eq!((new.after.status, new.first_seq, new.state.events), (1, 1, 1));

        let refused = Projected::replay(id, "9", &log)
            .unwrap()
            .append(vec![ev(3_000, EventKind::Reopened)]);
        assert_eq!(refused.unwrap_err(), LifecycleError::NotClosed);
    }

    #[test]
    fn appending_to_a_resumed_ticket_equals_replaying_the_whole_log() {
        let id = TicketId::new(7);
        let comment = |at| {
            ev(
                at,
                EventKind::Commented {
                    comment_id: 1,
                    content: "n".into(),
                    user_id: 0,
                    user_name: String::new(),
                    user_avatar_url: String::new(),
                },
            )
        };
        let first = vec![created(1_000), said(2_000, "om_a"), comment(2_500)];
        let rest = vec![said(3_000, "om_b"), comment(3_500), said(4_000, "om_c")];
        let stored = Projected::replay(id, "9", &first).unwrap();
        let state: LogState = serde_json::from_str(&serde_json::to_string(stored.state()).unwrap()).unwrap();
        let resumed = Projected::resume(stored.ticket().clone(), state);
        let done = resumed.append(rest.clone()).unwrap();
        let log = [first, rest].concat();
        let whole = Projected::replay(id, "9", &log).unwrap();
        assert_eq!(&done.after, whole.ticket());
        assert_eq!(
            done.new_messages,
            messages(&log)[1..],
            "numbered as the whole log numbers them"
        );
        assert_eq!(&done.state, whole.state());
        assert_eq!((done.state.messages, done.state.comments), (3, 2));
    }
}
