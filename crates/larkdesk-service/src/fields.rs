//! Ticket customized field definitions (`/ticket_customized_fields`, `/customized_fields`).

use std::sync::Arc;

use larkdesk_domain::ids;
use larkdesk_domain::ids::TenantRowId;
use larkdesk_store::prelude::*;
use larkdesk_store::{FieldDefinition, StoreError};
use larkdesk_wire::fields::{DropdownOptions, TicketCustomizedField};

use crate::{Caller, Clock, Error, Result};

/// The field types Feishu offers.
pub const FIELD_TYPES: &[&str] = &["string", "multiline", "dropdown", "dropdown_nested"];

/// A change to a field: the attributes given are replaced.
#[derive(Debug, Clone, Default)]
pub struct FieldPatch {
    pub display_name: Option<String>,
    pub position: Option<String>,
    pub description: Option<String>,
    pub visible: Option<bool>,
    pub editable: Option<bool>,
    pub required: Option<bool>,
    pub dropdown_options: Option<DropdownOptions>,
    pub dropdown_allow_multiple: Option<bool>,
}

#[derive(Clone)]
pub struct Fields {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl Fields {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// Field definitions name their creator and last editor by id; show their directory
    /// profiles.
    async fn with_profiles(
        &self,
        tenant: TenantRowId,
        mut field: TicketCustomizedField,
    ) -> Result<TicketCustomizedField> {
        for person in [&mut field.created_by, &mut field.updated_by] {
            if person.id.is_empty() {
                continue;
            }
            match self.store.user(tenant, &person.id).await {
                Ok(record) => *person = record.user,
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(field)
    }

    /// Create a field; returns its id.
    pub async fn create(&self, caller: &Caller, def: &FieldDefinition) -> Result<String> {
        if !FIELD_TYPES.contains(&def.field_type.as_str()) {
            return Err(Error::invalid(
                "field_type must be string, multiline, dropdown or dropdown_nested",
            ));
        }
        larkdesk_domain::limits::bounded("key_name", &def.key_name, larkdesk_domain::limits::KEY_MAX_BYTES)
            .map_err(Error::Invalid)?;
        let id = ids::new_numeric_id();
        self.store
            .create_field(&caller.helpdesk, &id, def, &caller.user_id(), self.clock.now_ms())
            .await?;
        Ok(id)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<TicketCustomizedField> {
        let field = self.store.field(&caller.helpdesk, id).await?;
        self.with_profiles(caller.app.tenant_id, field).await
    }

    pub async fn update(&self, caller: &Caller, id: &str, patch: FieldPatch) -> Result<()> {
        let current = self.store.field(&caller.helpdesk, id).await?;
        let def = FieldDefinition {
            key_name: current.key_name,
            display_name: patch.display_name.unwrap_or(current.display_name),
            position: patch.position.unwrap_or(current.position),
            field_type: current.field_type,
            description: patch.description.unwrap_or(current.description),
            visible: patch.visible.unwrap_or(current.visible),
            editable: patch.editable.unwrap_or(current.editable),
            required: patch.required.unwrap_or(current.required),
            dropdown_allow_multiple: patch
                .dropdown_allow_multiple
                .unwrap_or(current.dropdown_allow_multiple),
            dropdown_options: patch.dropdown_options.or(current.dropdown_options),
        };
        self.store
            .update_field(&caller.helpdesk, id, &def, &caller.user_id(), self.clock.now_ms())
            .await?;
        Ok(())
    }

    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        Ok(self.store.delete_field(&caller.helpdesk, id).await?)
    }

    /// A page of fields after `after` (a page token), at most `size`, with the page token of
    /// the next page when there is one.
    pub async fn page(
        &self,
        caller: &Caller,
        visible: Option<bool>,
        after: i64,
        size: i64,
    ) -> Result<(Vec<TicketCustomizedField>, Option<String>)> {
        // One extra row tells whether another page follows.
        let mut rows = self
            .store
            .list_fields(&caller.helpdesk, visible, after, size + 1)
            .await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let next = has_more
            .then(|| rows.last().map(|(row, _)| row.to_string()))
            .flatten();
        let mut items = Vec::with_capacity(rows.len());
        for (_, field) in rows {
            items.push(self.with_profiles(caller.app.tenant_id, field).await?);
        }
        Ok((items, next))
    }

    /// The visible field definitions of a helpdesk, in creation order, without their people's
    /// profiles (the console's ticket form; at most 200).
    pub async fn definitions(
        &self,
        helpdesk: &larkdesk_store::Helpdesk,
    ) -> Result<Vec<TicketCustomizedField>> {
        Ok(self
            .store
            .list_fields(helpdesk, Some(true), 0, 200)
            .await?
            .into_iter()
            .map(|(_, field)| field)
            .collect())
    }

    /// Every field of the caller's helpdesk (optionally only visible ones).
    pub async fn all(&self, caller: &Caller, visible: Option<bool>) -> Result<Vec<TicketCustomizedField>> {
        let rows = self
            .store
            .list_fields(&caller.helpdesk, visible, 0, i64::MAX)
            .await?;
        let mut fields = Vec::with_capacity(rows.len());
        for (_, field) in rows {
            fields.push(self.with_profiles(caller.app.tenant_id, field).await?);
        }
        Ok(fields)
    }
}
