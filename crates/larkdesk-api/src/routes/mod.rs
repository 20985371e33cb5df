//! Feishu-compatible endpoints, one module per resource.

pub mod auth;
pub mod events;
pub mod fields;
pub mod messages;
pub mod tickets;
