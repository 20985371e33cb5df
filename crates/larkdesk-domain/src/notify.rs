//! Which events a change to a ticket pushes to subscribed apps (`docs/feishu-wire.md#events`), as
//! a pure function of the ticket before and after and the events appended.
//!
//! - A ticket created through the lifecycle (`Created`, not an import) pushes
//!   `helpdesk.ticket.created_v1`.
//! - An append that contains anything besides messages, or that moves the stage or status, pushes
//!   `helpdesk.ticket.updated_v1` with the ticket after the change and, in `old_object`, the
//!   previous values of those of `stage`, `status`, `updated_at` that changed.
//! - Every appended message pushes `helpdesk.ticket_message.created_v1`.

use larkdesk_wire::events::{
    MessageContent, MessageTicket, TICKET_CREATED, TICKET_MESSAGE_CREATED, TICKET_UPDATED, TicketEventObject,
    TicketEventUpdateInfo, TicketMessageCreated, TicketUpdated, UserId,
};
use larkdesk_wire::ticket::Ticket;
use serde_json::Value;

use crate::events::{EventKind, TicketEvent};
use crate::ids;

/// One event to push: its type and its `event` body.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub event_type: &'static str,
    pub body: Value,
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("event payloads always serialize")
}

/// The text of a message's content JSON (`{"content": …}` or `{"text": …}`), else the raw text.
fn message_text(content: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(content).ok();
    parsed
        .as_ref()
        .and_then(|v| v.get("content").or_else(|| v.get("text")))
        .and_then(Value::as_str)
        .map_or_else(|| content.to_owned(), str::to_owned)
}

fn message_content(msg_type: &str, content: &str) -> MessageContent {
    let parsed: Option<Value> = serde_json::from_str(content).ok();
    let image_keys: Vec<String> = parsed
        .as_ref()
        .and_then(|v| v.get("image_keys"))
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let image_key = parsed
        .as_ref()
        .and_then(|v| v.get("image_key"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    MessageContent {
        content: message_text(content),
        msg_type: msg_type.to_owned(),
        image_keys,
        image_key,
    }
}

/// Notifications for one change: `new_events` were appended to a ticket that was `before`
/// (None for a new ticket) and had `earlier_messages` messages, and made it `after`.
pub fn notifications(
    before: Option<&Ticket>,
    after: &Ticket,
    new_events: &[TicketEvent],
    earlier_messages: usize,
    chat_id: &str,
) -> Vec<Notification> {
    let mut out = Vec::new();
    match before {
        None => {
            if new_events
                .first()
                .is_some_and(|e| matches!(e.kind, EventKind::Created { .. }))
            {
                out.push(Notification {
                    event_type: TICKET_CREATED,
                    body: to_value(&TicketEventObject::created(after, chat_id)),
                });
            }
        }
        Some(before) => {
            let only_messages = new_events
                .iter()
                .all(|e| matches!(e.kind, EventKind::Message { .. }));
            let moved = before.status != after.status || before.ticket_type != after.ticket_type;
            if !only_messages || moved {
                let changed = |old: i64, new: i64| (old != new).then_some(old);
                let old_object = TicketEventUpdateInfo {
                    stage: changed(before.ticket_type, after.ticket_type),
                    status: changed(before.status, after.status),
                    updated_at: changed(before.updated_at, after.updated_at),
                };
                out.push(Notification {
                    event_type: TICKET_UPDATED,
                    body: to_value(&TicketUpdated {
                        object: TicketEventObject::updated(after, chat_id),
                        old_object,
                    }),
                });
            }
        }
    }
    let new_messages = new_events.iter().filter_map(|e| match &e.kind {
        EventKind::Message {
            sender,
            sender_id,
            message_id,
            msg_type,
            content,
        } => Some((sender, sender_id, message_id, msg_type, content)),
        _ => None,
    });
    for (i, (sender, sender_id, message_id, msg_type, content)) in new_messages.enumerate() {
        let body = TicketMessageCreated {
            ticket_message_id: ids::stable_numeric_id(message_id).to_string(),
            message_id: message_id.clone(),
            msg_type: msg_type.clone(),
            position: (earlier_messages + i + 1).to_string(),
            sender_id: UserId::open(sender_id),
            sender_type: sender.code(),
            text: message_text(content),
            ticket: MessageTicket::from(after),
            event_id: ids::message_event_id(message_id),
            chat_id: chat_id.to_owned(),
            content: message_content(msg_type, content),
        };
        out.push(Notification {
            event_type: TICKET_MESSAGE_CREATED,
            body: to_value(&body),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Actor, ImportedTicket, Sender};
    use crate::lifecycle::project;

    fn ev(at_ms: i64, kind: EventKind) -> TicketEvent {
        TicketEvent {
            at_ms,
            actor: Actor::System,
            kind,
        }
    }

    fn created() -> TicketEvent {
        ev(
            1_000,
            EventKind::Created {
                guest_id: "ou_g".into(),
                channel: 9,
                human_service: false,
            },
        )
    }

    fn message(at: i64, id: &str) -> TicketEvent {
        ev(
            at,
            EventKind::Message {
                sender: Sender::Guest,
                sender_id: "ou_g".into(),
                message_id: id.into(),
                msg_type: "text".into(),
                content: r#"{"msg_type":"text","content":"hello"}"#.into(),
            },
        )
    }

    #[test]
    fn a_new_ticket_pushes_created_only() {
        let log = vec![created()];
        let t = project("1", "2", &log).unwrap();
        let n = notifications(None, &t, &log, 0, "oc_1");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].event_type, TICKET_CREATED);
        assert_eq!(n[0].body["chat_id"], "oc_1");
        assert_eq!(n[0].body["guest"]["id"]["open_id"], "ou_g");
        assert_eq!(n[0].body["stage"], 1);
        assert!(n[0].body.get("agents").is_none());
    }

    #[test]
    fn imports_push_nothing() {
        let log = vec![created()];
        let t = project("1", "2", &log).unwrap();
        let import = vec![ev(
            1,
            EventKind::Imported {
                snapshot: Box::new(ImportedTicket::from(&t)),
            },
        )];
        assert!(notifications(None, &t, &import, 0, "").is_empty());
    }

    #[test]
    fn a_first_message_pushes_update_and_message_with_old_values() {
        let mut log = vec![created()];
        let before = project("1", "2", &log).unwrap();
        log.push(message(2_000, "om_a"));
        let after = project("1", "2", &log).unwrap();
        let n = notifications(Some(&before), &after, &log[1..], 0, "oc_1");
        let types: Vec<_> = n.iter().map(|n| n.event_type).collect();
        assert_eq!(
            types,
            [TICKET_UPDATED, TICKET_MESSAGE_CREATED],
            "status 1 -> 2 is an update"
        );
        assert_eq!(
            n[0].body["old_object"],
            serde_json::json!({"status": 1, "updated_at": -1})
        );
        assert_eq!(n[0].body["object"]["status"], 2);
        assert!(n[0].body["object"]["agents"].is_array());
        let m = &n[1].body;
        assert_eq!(
            (
                m["position"].as_str(),
                m["sender_type"].as_i64(),
                m["text"].as_str()
            ),
            (Some("1"), Some(2), Some("hello"))
        );
        assert_eq!(m["event_id"], ids::message_event_id("om_a"));
        assert_eq!(m["content"]["msg_type"], "text");
        assert_eq!(
            m["ticket"]["comments"],
            serde_json::json!([]),
            "an array in this event"
        );
    }

    #[test]
    fn later_messages_push_only_the_message_with_its_position() {
        let mut log = vec![created(), message(2_000, "om_a")];
        let before = project("1", "2", &log).unwrap();
        log.push(message(3_000, "om_b"));
        let after = project("1", "2", &log).unwrap();
        let n = notifications(Some(&before), &after, &log[2..], 1, "");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].body["position"], "2");
    }

    #[test]
    fn a_tag_change_pushes_an_update_with_only_updated_at_old() {
        let mut log = vec![created(), message(2_000, "om_a")];
        let before = project("1", "2", &log).unwrap();
        log.push(ev(
            3_000,
            EventKind::Tagged {
                tags: vec![("1".into(), "vip".into())],
            },
        ));
        let after = project("1", "2", &log).unwrap();
        let n = notifications(Some(&before), &after, &log[2..], 1, "");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].body["old_object"], serde_json::json!({"updated_at": 2_000}));
    }
}
