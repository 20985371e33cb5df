//! Integration tests: each test starts the real `larkdesk` binary on a random port with a fresh
//! SQLite database and talks HTTP to it.

mod admin;
mod admin_errors;
mod agents;
mod auth;
mod bodies;
mod common;
mod console;
mod dbfile;
mod errors;
mod events;
mod faqs;
mod fuzz;
mod get_ticket;
mod golden;
mod lifecycle;
mod limits;
mod notifications;
mod openapi;
mod ops;
mod ratelimit;
mod scale;
mod snapshot;
mod ticket_family;
mod tokens;
