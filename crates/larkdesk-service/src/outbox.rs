//! The envelopes a change pushes: one per notification ([`larkdesk_domain::notify`]) and
//! subscribed app, in Feishu's schema 2.0, ready for the outbox.

use larkdesk_domain::ids;
use larkdesk_domain::notify::Notification;
use larkdesk_store::{OutboxEntry, Subscriber};
use larkdesk_wire::events::{EventEnvelope, EventHeader};

/// The outbox rows for `notifications` to `subscribers`, stamped `at_ms`.
pub(crate) fn entries(
    subscribers: &[Subscriber],
    notifications: &[Notification],
    at_ms: i64,
) -> Vec<OutboxEntry> {
    let mut out = Vec::new();
    for note in notifications {
        for sub in subscribers.iter().filter(|s| s.event_type == note.event_type) {
            let event_id = ids::new_event_id();
            let envelope = EventEnvelope {
                schema: "2.0",
                header: EventHeader {
                    event_id: event_id.clone(),
                    event_type: note.event_type.to_owned(),
                    create_time: at_ms.to_string(),
                    token: sub.verification_token.clone(),
                    app_id: sub.app_id.clone(),
                    tenant_key: sub.tenant_key.clone(),
                },
                event: &note.body,
            };
            out.push(OutboxEntry {
                event_id,
                app: sub.app,
                event_type: note.event_type.to_owned(),
                body: serde_json::to_string(&envelope).expect("envelopes always serialize"),
                at_ms,
            });
        }
    }
    out
}
