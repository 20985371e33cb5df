//! Ticket customized field definitions on PostgreSQL.

use larkdesk_wire::fields::TicketCustomizedField;
use sqlx::Row;

use super::PostgresStore;
use crate::common::{conflict_or, field_from_row, found, to_json};
use crate::{FieldDefinition, Helpdesk, StoreError, StoreResult};

impl PostgresStore {
    pub(super) async fn create_field_impl(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ticket_customized_fields (field_id, helpdesk_id, key_name, display_name, position,
               field_type, description, visible, editable, required, dropdown_allow_multiple, dropdown_options,
               created_at, updated_at, created_by, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
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
        .bind(at_ms)
        .bind(by)
        .bind(by)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_or(e, "key_name already exists in this helpdesk"))?;
        Ok(())
    }

    pub(super) async fn field_impl(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
    ) -> StoreResult<TicketCustomizedField> {
        let row =
            sqlx::query("SELECT * FROM ticket_customized_fields WHERE helpdesk_id = $1 AND field_id = $2")
                .bind(helpdesk.id)
                .bind(field_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        field_from_row(&row, &helpdesk.helpdesk_id)
    }

    pub(super) async fn list_fields_impl(
        &self,
        helpdesk: &Helpdesk,
        visible: Option<bool>,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, TicketCustomizedField)>> {
        let rows = sqlx::query(
            "SELECT * FROM ticket_customized_fields
             WHERE helpdesk_id = $1 AND id > $2 AND ($3::boolean IS NULL OR visible = $3)
             ORDER BY id LIMIT $4",
        )
        .bind(helpdesk.id)
        .bind(after_row)
        .bind(visible)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, field_from_row(r, &helpdesk.helpdesk_id)?)))
            .collect()
    }

    pub(super) async fn update_field_impl(
        &self,
        helpdesk: &Helpdesk,
        field_id: &str,
        def: &FieldDefinition,
        by: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        let done = sqlx::query(
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
        .execute(&self.pool)
        .await?;
        found(done.rows_affected())
    }
}
