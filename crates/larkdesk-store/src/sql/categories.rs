//! FAQ categories.

use async_trait::async_trait;
use larkdesk_wire::agents::Category;

use super::{SqlStore, found};
use crate::backend::{Backend, Columns, sql};
use crate::{CategoryRecord, CategoryStore, Helpdesk, StoreResult};

const CATEGORY_COLUMNS: &str = "category_id, name, parent_id, language, created_at, updated_at";

fn category(row: &impl Columns, helpdesk_id: &str) -> StoreResult<CategoryRecord> {
    let category_id = row.text("category_id")?;
    Ok(CategoryRecord {
        category: Category {
            id: category_id.clone(),
            category_id,
            name: row.text("name")?,
            parent_id: row.text("parent_id")?,
            helpdesk_id: helpdesk_id.to_owned(),
            language: row.text("language")?,
            children: None,
        },
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

#[async_trait]
impl<DB: Backend> CategoryStore for SqlStore<DB> {
    async fn create_category(&self, helpdesk: &Helpdesk, c: &CategoryRecord) -> StoreResult<()> {
        sql("INSERT INTO faq_categories (category_id, helpdesk_id, name, parent_id, language, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&c.category.category_id)
        .bind(helpdesk.id)
        .bind(&c.category.name)
        .bind(&c.category.parent_id)
        .bind(&c.category.language)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn category(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<CategoryRecord> {
        let row = sql(format!(
            "SELECT {CATEGORY_COLUMNS} FROM faq_categories WHERE helpdesk_id = $1 AND category_id = $2"
        ))
        .bind(helpdesk.id)
        .bind(category_id)
        .fetch_one(&self.pool)
        .await?;
        category(&row, &helpdesk.helpdesk_id)
    }

    async fn categories(&self, helpdesk: &Helpdesk) -> StoreResult<Vec<CategoryRecord>> {
        let rows = sql(format!(
            "SELECT {CATEGORY_COLUMNS} FROM faq_categories WHERE helpdesk_id = $1 ORDER BY id"
        ))
        .bind(helpdesk.id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| category(r, &helpdesk.helpdesk_id)).collect()
    }

    async fn update_category(
        &self,
        helpdesk: &Helpdesk,
        category_id: &str,
        name: &str,
        parent_id: &str,
        at_ms: i64,
    ) -> StoreResult<()> {
        let changed = sql(
            "UPDATE faq_categories SET name = $1, parent_id = $2, updated_at = $3
             WHERE helpdesk_id = $4 AND category_id = $5",
        )
        .bind(name)
        .bind(parent_id)
        .bind(at_ms)
        .bind(helpdesk.id)
        .bind(category_id)
        .execute(&self.writer)
        .await?;
        found(changed)
    }

    async fn delete_category(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<()> {
        let changed = sql("DELETE FROM faq_categories WHERE helpdesk_id = $1 AND category_id = $2")
            .bind(helpdesk.id)
            .bind(category_id)
            .execute(&self.writer)
            .await?;
        found(changed)
    }

    /// Online FAQs only: a deleted FAQ (kept with status 0) does not hold its category.
    async fn category_has_faqs(&self, helpdesk: &Helpdesk, category_id: &str) -> StoreResult<bool> {
        let row = sql(
            "SELECT 1 AS found FROM faqs WHERE helpdesk_id = $1 AND category_id = $2 AND status = 1 LIMIT 1",
        )
        .bind(helpdesk.id)
        .bind(category_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
