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
    /// Counters for `GET /metrics` (`None` with `--no-metrics`).
    pub metrics: Option<crate::metrics::Metrics>,
    /// The bounds on request bodies: read timeout and memory budget (see [`Bodies`]).
    pub bodies: Bodies,
    /// The web console's sessions and settings (see [`crate::console`]).
    pub console: crate::console::Sessions,
}

pub type SharedState = Arc<AppState>;

/// How the server is set up beyond its store, limits and clock.
pub struct Options {
    /// How long rendered tickets and pages are served from the cache (zero: no cache).
    pub ticket_cache_ttl: Duration,
    /// May event request URLs reach loopback and private addresses?
    pub event_allow_private: bool,
    /// Requests kept per app by the journal (0: off).
    pub journal_capacity: usize,
    pub bodies: Bodies,
    /// Count requests and serve `GET /metrics`.
    pub metrics: bool,
}

impl AppState {
    /// Build the state, loading (or, on a new database, creating) the signing key every instance
    /// on this database shares.
    pub async fn new(
        store: Arc<dyn Store>,
        limits: RateLimits,
        clock: Clock,
        options: Options,
    ) -> anyhow::Result<SharedState> {
        let tokens = Tokens::load(store.clone(), clock.clone()).await?;
        let services = Services::new(store.clone(), clock.clone());
        let tickets = TicketCache::new(options.ticket_cache_ttl);
        let metrics = options.metrics.then(|| {
            crate::metrics::Metrics::new(
                tickets.ticket_counts.clone(),
                tickets.page_counts.clone(),
                services.deliveries.clone(),
                store.clone(),
            )
        });
        Ok(Arc::new(Self {
            auth: Auth::new(store, tokens.clone(), clock, limits),
            services,
            tokens,
            tickets,
            event_allow_private: options.event_allow_private,
            journal: Journal::new(options.journal_capacity),
            metrics,
            bodies: options.bodies,
            console: crate::console::Sessions::default(),
        }))
    }
}
