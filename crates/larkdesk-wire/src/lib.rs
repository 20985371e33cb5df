//! Wire types of the Feishu Helpdesk v1 API.
//!
//! Every struct here serializes to exactly the JSON the official SDKs parse: ids are strings,
//! times are integer milliseconds, durations use the unit of their field (see
//! `../shared/reference/feishu-helpdesk-api.md` §2.1 and §6). Nothing here knows about storage.

pub mod agents;
pub mod auth;
pub mod envelope;
pub mod events;
pub mod faqs;
pub mod fields;
pub mod notifications;
pub mod ticket;

pub use envelope::{ErrorBody, ErrorDetail, PermissionViolation, Success};
