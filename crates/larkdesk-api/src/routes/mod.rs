//! Feishu-compatible endpoints, one module per resource.

pub mod auth;
pub mod tickets;
