//! The use cases of larkdesk, between the HTTP API and storage: a request becomes domain events
//! (or a console change), the rules of `larkdesk-domain` decide what follows, and the store
//! persists it. Nothing here knows HTTP; nothing in the store decides.
//!
//! - [`tickets`]: the ticket family (create, change, import, rebuild) and what each change
//!   pushes to subscribed apps, written to the outbox in the change's transaction.
//! - [`console`]: what Feishu's developer console does (tenants, apps, helpdesks, users, secrets).
//! - [`tokens`]: access tokens.
//! - [`agents`]: agents' status, schedules and skills, and the routing of waiting tickets.
//! - [`categories`]: FAQ categories.
//! - [`fields`], [`subscriptions`]: customized fields and event subscriptions.
//! - [`faqs`], [`notifications`]: the knowledge base and its search; push jobs.
//! - [`delivery`]: the worker that pushes the outbox to apps.

pub mod agents;
pub mod categories;
pub mod clock;
pub mod console;
pub mod delivery;
mod error;
pub mod faqs;
pub mod fields;
pub mod notifications;
mod outbox;
pub mod subscriptions;
pub mod tickets;
pub mod tokens;

use std::sync::Arc;

use larkdesk_domain::events::Actor;
use larkdesk_store::{App, Helpdesk, Store, UserRecord};

pub use clock::Clock;
pub use error::{Error, Result};

/// Who makes a call to a helpdesk endpoint, once authenticated: the app, the helpdesk of its
/// helpdesk credential, and the user a user access token acts for (`None` for tenant tokens).
#[derive(Debug, Clone)]
pub struct Caller {
    pub app: Arc<App>,
    pub helpdesk: Arc<Helpdesk>,
    pub user: Option<UserRecord>,
}

impl Caller {
    /// The caller as the actor of ticket events: the user of a user token, else the system.
    pub fn actor(&self) -> Actor {
        match &self.user {
            Some(u) if u.is_agent => Actor::Agent(u.user.id.clone()),
            Some(u) => Actor::Guest(u.user.id.clone()),
            None => Actor::System,
        }
    }

    /// May this caller read and change the helpdesk's tickets? The app itself (a tenant token)
    /// and an agent (an agent's user token) may; a user token of anyone else — a guest — carries
    /// that user's powers, and a guest has no access to the helpdesk's tickets (403/154003).
    /// larkdesk has no helpdesk admins or owners apart from its agents, and every agent of the
    /// tenant has access to every ticket of its helpdesks.
    pub fn may_handle_tickets(&self) -> Result<()> {
        match &self.user {
            Some(u) if !u.is_agent => Err(Error::Forbidden(
                "this user access token is not an agent's: only agents of the helpdesk may read or change its tickets".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The open_id of the user a user token acts for; empty for tenant tokens.
    pub fn user_id(&self) -> String {
        self.user.as_ref().map(|u| u.user.id.clone()).unwrap_or_default()
    }
}

/// Every use case, sharing one store and one clock.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub tickets: tickets::Tickets,
    pub agents: agents::Agents,
    pub categories: categories::Categories,
    pub fields: fields::Fields,
    pub faqs: faqs::Faqs,
    pub notifications: notifications::Notifications,
    pub subscriptions: subscriptions::Subscriptions,
    /// The event delivery worker's outcomes (the worker is started by the binary).
    pub deliveries: Arc<delivery::DeliveryStats>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            tickets: tickets::Tickets::new(store.clone(), clock.clone()),
            agents: agents::Agents::new(
                store.clone(),
                clock.clone(),
                tickets::Tickets::new(store.clone(), clock.clone()),
            ),
            categories: categories::Categories::new(store.clone(), clock.clone()),
            fields: fields::Fields::new(store.clone(), clock.clone()),
            faqs: faqs::Faqs::new(store.clone(), clock.clone()),
            notifications: notifications::Notifications::new(store.clone(), clock.clone()),
            subscriptions: subscriptions::Subscriptions::new(store.clone()),
            deliveries: Arc::default(),
            store,
            clock,
        }
    }
}
