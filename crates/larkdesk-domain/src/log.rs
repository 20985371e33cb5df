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
use crate::lifecycle::{self, LifecycleError};

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
}

/// The messages `events` hold, numbered from `first_position`.
fn messages_from(events: &[TicketEvent], first_position: i64) -> Vec<LogMessage> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                sender,
                sender_id,
                message_id,
                msg_type,
                content,
            } => Some((e.at_ms, sender, sender_id, message_id, msg_type, content)),
            _ => None,
        })
        .zip(first_position..)
        .map(
            |((at_ms, sender, sender_id, message_id, msg_type, content), position)| LogMessage {
                event_id: ids::message_event_id(message_id),
                message_id: message_id.clone(),
                msg_type: msg_type.clone(),
                content: content.clone(),
                sender_type: sender.code(),
                sender_id: sender_id.clone(),
                created_at: at_ms,
                position,
            },
        )
        .collect()
}

/// Every message of a log, in order.
pub fn messages(log: &[TicketEvent]) -> Vec<LogMessage> {
    messages_from(log, 1)
}

fn message_count(events: &[TicketEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Message { .. }))
        .count()
}

/// Move every event from `already` on up to the latest time before it.
pub fn clamp_new_event_times(events: &mut [TicketEvent], already: usize) {
    let mut latest = events[..already]
        .iter()
        .map(|e| e.at_ms)
        .max()
        .unwrap_or(i64::MIN);
    for event in &mut events[already..] {
        event.at_ms = event.at_ms.max(latest);
        latest = event.at_ms;
    }
}

/// The ticket `log` describes (people by id only).
pub fn project(id: TicketId, helpdesk_id: &str, log: &[TicketEvent]) -> Result<Ticket, LifecycleError> {
    lifecycle::project(&id.to_string(), helpdesk_id, log)
}

/// A change appended to a log.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The ticket before the change; `None` for a new ticket.
    pub before: Option<Ticket>,
    pub after: Ticket,
    /// The whole log after the change; `log[first_new..]` is what the change added.
    pub log: Vec<TicketEvent>,
    pub first_new: usize,
    /// The messages the change added, numbered after the ticket's earlier ones.
    pub new_messages: Vec<LogMessage>,
}

impl Appended {
    /// The events the change added, with their clamped times.
    pub fn new_events(&self) -> &[TicketEvent] {
        &self.log[self.first_new..]
    }
}

/// The first events of a new ticket: clamp, project, and find its messages.
pub fn create(id: TicketId, helpdesk_id: &str, events: Vec<TicketEvent>) -> Result<Appended, LifecycleError> {
    append(id, helpdesk_id, Vec::new(), None, events)
}

/// A ticket's log with the ticket it describes, projected once.
#[derive(Debug, Clone)]
pub struct Projected {
    id: TicketId,
    helpdesk_id: String,
    log: Vec<TicketEvent>,
    ticket: Ticket,
}

impl Projected {
    pub fn new(id: TicketId, helpdesk_id: &str, log: Vec<TicketEvent>) -> Result<Self, LifecycleError> {
        let ticket = project(id, helpdesk_id, &log)?;
        Ok(Self {
            id,
            helpdesk_id: helpdesk_id.to_owned(),
            log,
            ticket,
        })
    }

    pub fn log(&self) -> &[TicketEvent] {
        &self.log
    }

    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// Append `new` events: clamp, project, and find the new messages.
    pub fn append(self, new: Vec<TicketEvent>) -> Result<Appended, LifecycleError> {
        append(self.id, &self.helpdesk_id, self.log, Some(self.ticket), new)
    }
}

/// Append `new` to `log`, whose projection is `before` (`None` for a new ticket).
fn append(
    id: TicketId,
    helpdesk_id: &str,
    mut log: Vec<TicketEvent>,
    before: Option<Ticket>,
    new: Vec<TicketEvent>,
) -> Result<Appended, LifecycleError> {
    let first_new = log.len();
    log.extend(new);
    clamp_new_event_times(&mut log, first_new);
    let after = project(id, helpdesk_id, &log)?;
    let earlier = message_count(&log[..first_new]) as i64;
    let new_messages = messages_from(&log[first_new..], earlier + 1);
    Ok(Appended {
        before,
        after,
        log,
        first_new,
        new_messages,
    })
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
        assert_eq!((m[1].created_at, m[1].sender_type), (4, 2));
        assert_eq!(m[0].event_id, ids::message_event_id("om_a"));
    }

    #[test]
    fn an_append_knows_before_after_and_its_new_messages() {
        let id = TicketId::new(7);
        let log = vec![created(1_000), said(2_000, "om_a")];
        let current = Projected::new(id, "9", log.clone()).unwrap();
        assert_eq!(current.ticket().updated_at, 2_000);
        let done = current.append(vec![said(1_500, "om_b")]).unwrap();
        assert_eq!(done.first_new, 2);
        assert_eq!(done.new_events()[0].at_ms, 2_000, "clamped");
        assert_eq!(done.before.as_ref().map(|t| t.updated_at), Some(2_000));
        assert_eq!(done.after.ticket_id, "7");
        assert_eq!(done.new_messages.len(), 1);
        assert_eq!(done.new_messages[0].position, 2);

        let new = create(id, "9", vec![created(1_000)]).unwrap();
        assert!(new.before.is_none() && new.new_messages.is_empty());
        assert_eq!(new.after.status, 1);

        let refused = Projected::new(id, "9", log)
            .unwrap()
            .append(vec![ev(3_000, EventKind::Reopened)]);
        assert_eq!(refused.unwrap_err(), LifecycleError::NotClosed);
    }
}
