//! Feishu-compatible endpoints, one module per resource.

pub mod agents;
pub mod auth;
pub mod categories;
pub mod events;
pub mod faqs;
pub mod fields;
pub mod messages;
pub mod notifications;
pub mod tickets;
