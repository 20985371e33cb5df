//! Which helpdesk events an app receives (`/events/subscribe`, `/events/unsubscribe`).

use std::sync::Arc;

use larkdesk_store::prelude::*;
use larkdesk_wire::events::EVENT_TYPES;

use crate::{Caller, Error, Result};

#[derive(Clone)]
pub struct Subscriptions {
    store: Arc<dyn Store>,
}

impl Subscriptions {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// `{type: "helpdesk.ticket", subtype: "ticket.created_v1"}` names `helpdesk.ticket.created_v1`.
    pub fn event_type(kind: &str, subtype: &str) -> Result<&'static str> {
        let full = format!("helpdesk.{subtype}");
        let family = subtype.split('.').next().unwrap_or_default();
        EVENT_TYPES
            .iter()
            .copied()
            .find(|t| *t == full && kind == format!("helpdesk.{family}"))
            .ok_or_else(|| Error::invalid(format!("unknown event {kind}/{subtype}")))
    }

    /// Subscribe (or with `subscribe` false, unsubscribe) the caller's app to event types of
    /// its helpdesk.
    pub async fn change(&self, caller: &Caller, event_types: &[&str], subscribe: bool) -> Result<()> {
        if subscribe {
            self.store
                .subscribe_events(caller.app.id, &caller.helpdesk, event_types)
                .await?;
        } else {
            self.store
                .unsubscribe_events(caller.app.id, &caller.helpdesk, event_types)
                .await?;
        }
        Ok(())
    }
}
