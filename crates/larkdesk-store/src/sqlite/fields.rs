//! Ticket customized field definitions on SQLite.

use larkdesk_wire::fields::TicketCustomizedField;
use sqlx::Row;

use super::SqliteStore;
use crate::common::{conflict_or, field_from_row, found, to_json};
use crate::{FieldDefinition, Helpdesk, StoreError, StoreResult};

impl SqliteStore {
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            sqlx::query("SELECT * FROM ticket_customized_fields WHERE helpdesk_id = ? AND field_id = ?")
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
             WHERE helpdesk_id = ? AND id > ? AND (? IS NULL OR visible = ?)
             ORDER BY id LIMIT ?",
        )
        .bind(helpdesk.id)
        .bind(after_row)
        .bind(visible)
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
            "UPDATE ticket_customized_fields SET display_name = ?, position = ?, description = ?, visible = ?,
               editable = ?, required = ?, dropdown_allow_multiple = ?, dropdown_options = ?, updated_at = ?,
               updated_by = ?
             WHERE helpdesk_id = ? AND field_id = ?",
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
