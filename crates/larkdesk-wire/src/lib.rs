//! Wire types of the Feishu Helpdesk v1 API.
//!
//! Every struct here serializes to exactly the JSON the official SDKs parse: ids are strings,
//! times are integer milliseconds, durations use the unit of their field (see
//! `docs/feishu-wire.md#the-ticket-object` and `#hazards-where-sdks-disagree`). Nothing here knows about storage.

pub mod agents;
pub mod auth;
pub mod envelope;
pub mod events;
pub mod faqs;
pub mod fields;
pub mod notifications;
pub mod ticket;

pub use envelope::{ErrorBody, ErrorDetail, PermissionViolation, Success};
