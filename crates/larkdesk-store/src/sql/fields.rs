//! Ticket customized field definitions.

use async_trait::async_trait;
use larkdesk_wire::fields::TicketCustomizedField;

use super::{SqlStore, conflict_or, found};
use crate::backend::{Backend, Builder, Columns, sql};
use crate::rows::{self, to_json};
use crate::{FieldDefinition, FieldStore, Helpdesk, StoreResult};

const FIELD_COLUMNS: &str = "id, field_id, key_name, display_name, position, field_type, description, visible,
    editable, required, dropdown_allow_multiple, dropdown_options, created_at, updated_at, created_by, updated_by";

#[async_trait]
impl<DB: Backend> FieldStore for SqlStore<DB> {
    async fn create_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        sql("INSERT INTO ticket_customized_fields (field_id, helpdesk_id, key_name, display_name, position,
               field_type, description, visible, editable, required, dropdown_allow_multiple, dropdown_options,
               created_at, updated_at, created_by, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $14)")
        .bind(field_id)
        .bind(helpdesk.id)
        .bind(&def.key_name)
        .bind(&def.display_name)
        .bind(&def.position)
        .bind(&def.field_type)
        .bind(&def.description)
        .bind(def.visible)
        .bind(def.editable)
        .bind(def.required)
        .bind(def.dropdown_allow_multiple)
        .bind(def.dropdown_options.as_ref().map(to_json))
        .bind(at_ms)
        .bind(by)
        .execute(&self.writer)
        .await
        .map_err(conflict_or("key_name already exists in this helpdesk"))?;
        Ok(())
    }

    async fn field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<TicketCustomizedField> {
        let row = sql(format!(
            "SELECT {FIELD_COLUMNS} FROM ticket_customized_fields WHERE helpdesk_id = $1 AND field_id = $2"
        ))
        .bind(helpdesk.id)
        .bind(field_id)
        .fetch_one(&self.pool)
        .await?;
        rows::field(&row, &helpdesk.helpdesk_id)
    }

    async fn list_fields(
        &self,
        helpdesk: &Helpdesk,
        visible: Option<bool>,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, TicketCustomizedField)>> {
        let mut q = Builder::new::<DB>(format!(
            "SELECT {FIELD_COLUMNS} FROM ticket_customized_fields WHERE helpdesk_id = "
        ));
        q.arg(helpdesk.id).push(" AND id > ").arg(after_row);
        if let Some(visible) = visible {
            q.push(" AND visible = ").arg(visible);
        }
        q.push(" ORDER BY id LIMIT ").arg(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.int("id")?, rows::field(r, &helpdesk.helpdesk_id)?)))
            .collect()
    }

    async fn update_field(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        let changed = sql(
            "UPDATE ticket_customized_fields SET display_name = $1, position = $2, description = $3,
               visible = $4, editable = $5, required = $6, dropdown_allow_multiple = $7,
               dropdown_options = $8, updated_at = $9, updated_by = $10
             WHERE helpdesk_id = $11 AND field_id = $12",
        )
        .bind(&def.display_name)
        .bind(&def.position)
        .bind(&def.description)
        .bind(def.visible)
        .bind(def.editable)
        .bind(def.required)
        .bind(def.dropdown_allow_multiple)
        .bind(def.dropdown_options.as_ref().map(to_json))
        .bind(at_ms)
        .bind(by)
        .bind(helpdesk.id)
        .bind(field_id)
        .execute(&self.writer)
        .await?;
        found(changed)
    }

    async fn delete_field(&self, helpdesk: &Helpdesk, field_id: &str) -> StoreResult<()> {
        let changed = sql("DELETE FROM ticket_customized_fields WHERE helpdesk_id = $1 AND field_id = $2")
            .bind(helpdesk.id)
            .bind(field_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }
}
