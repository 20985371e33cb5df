//! Domain rules of larkdesk, as pure functions: credentials and access tokens, ticket states.
//! Nothing here performs I/O; storage and HTTP live in their own crates.

pub mod categories;
pub mod credentials;
pub mod event_target;
pub mod events;
pub mod faq;
pub mod ids;
pub mod lifecycle;
pub mod limits;
pub mod log;
pub mod message_content;
pub mod notify;
pub mod push;
pub mod routing;
pub mod scopes;
pub mod status;
pub mod token;
