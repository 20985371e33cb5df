//! Shared server state: the use cases, authentication, and the rendered-ticket cache.

use std::sync::Arc;
use std::time::Duration;

use larkdesk_service::tokens::Tokens;
use larkdesk_service::{Clock, Services};
use larkdesk_store::Store;

use crate::auth::Auth;
use crate::body::Bodies;
use crate::journal::Journal;
use crate::ratelimit::RateLimits;
use crate::ticket_cache::TicketCache;

pub struct AppState {
    pub services: Services,
    pub tokens: Tokens,
    pub auth: Auth,
    /// Rendered `GET /tickets/:id` bodies and list pages (see [`TicketCache`]).
    pub tickets: TicketCache,
    /// May event request URLs reach loopback and private addresses (`--event-allow-private`)?
    pub event_allow_private: bool,
    /// The last requests of each app, when kept (see [`Journal`]).
    pub journal: Journal,
    /// Counters for `GET /metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The bounds on request bodies: read timeout and memory budget (see [`Bodies`]).
    pub bodies: Bodies,
    /// The web console's sessions and settings (see [`crate::console`]).
    pub console: crate::console::Sessions,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Build the state, loading (or, on a new database, creating) the signing key every instance
    /// on this database shares.
    pub async fn new(
        store: Arc<dyn Store>,
        limits: RateLimits,
        clock: Clock,
        ticket_cache_ttl: Duration,
        event_allow_private: bool,
        journal_capacity: usize,
        bodies: Bodies,
    ) -> anyhow::Result<SharedState> {
        let tokens = Tokens::load(store.clone(), clock.clone()).await?;
        Ok(Arc::new(Self {
            auth: Auth::new(store.clone(), tokens.clone(), clock.clone(), limits),
            services: Services::new(store, clock),
            tokens,
            tickets: TicketCache::new(ticket_cache_ttl),
            event_allow_private,
            journal: Journal::new(journal_capacity),
            metrics: crate::metrics::Metrics::new(),
            bodies,
            console: crate::console::Sessions::default(),
        }))
    }
}
