//! FAQ categories (`/categories`): a tree per helpdesk (rules in
//! `larkdesk_domain::categories`).

use std::collections::HashMap;
use std::sync::Arc;

use larkdesk_domain::categories::{self, TOP};
use larkdesk_domain::ids;
use larkdesk_store::CategoryRecord;
use larkdesk_store::prelude::*;
use larkdesk_wire::agents::{Category, CategoryFlat};

use crate::{Caller, Clock, Error, Result};

/// The language of categories created without one.
pub const DEFAULT_LANGUAGE: &str = "zh_cn";

/// `GET /categories` ordering: `order_by` 1 = update time; without it, creation order. `asc`
/// defaults to true.
#[derive(Debug, Clone, Default)]
pub struct CategoryQuery {
    pub lang: Option<String>,
    pub order_by: Option<i64>,
    pub asc: Option<bool>,
}

#[derive(Clone)]
pub struct Categories {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl Categories {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    async fn parents(&self, caller: &Caller) -> Result<HashMap<String, String>> {
        Ok(self
            .store
            .categories(&caller.helpdesk)
            .await?
            .into_iter()
            .map(|c| (c.category.category_id, c.category.parent_id))
            .collect())
    }

    pub async fn create(
        &self,
        caller: &Caller,
        name: String,
        parent_id: String,
        language: Option<String>,
    ) -> Result<Category> {
        categories::check_parent(None, &parent_id, &self.parents(caller).await?)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let id = ids::new_numeric_id();
        let now = self.clock.now_ms();
        let record = CategoryRecord {
            category: Category {
                category_id: id.clone(),
                id,
                name,
                parent_id,
                helpdesk_id: caller.helpdesk.helpdesk_id.clone(),
                language: language
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned()),
                children: None,
            },
            created_at: now,
            updated_at: now,
        };
        self.store.create_category(&caller.helpdesk, &record).await?;
        Ok(record.category)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<CategoryFlat> {
        Ok(self.store.category(&caller.helpdesk, id).await?.category.into())
    }

    pub async fn list(&self, caller: &Caller, q: &CategoryQuery) -> Result<Vec<Category>> {
        if q.order_by.is_some_and(|o| o != 1) {
            return Err(Error::invalid("order_by must be 1 (update time)"));
        }
        let mut all = self.store.categories(&caller.helpdesk).await?;
        if let Some(lang) = q.lang.as_deref().filter(|l| !l.is_empty()) {
            all.retain(|c| c.category.language == lang);
        }
        // Stable sorts: equal keys keep creation order.
        if q.order_by == Some(1) {
            all.sort_by_key(|c| c.updated_at);
        }
        if q.asc == Some(false) {
            all.reverse();
        }
        Ok(categories::tree(all.into_iter().map(|c| c.category).collect()))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        name: Option<String>,
        parent_id: Option<String>,
    ) -> Result<()> {
        let current = self.store.category(&caller.helpdesk, id).await?.category;
        let parent = parent_id.unwrap_or(current.parent_id);
        if parent != TOP {
            categories::check_parent(Some(id), &parent, &self.parents(caller).await?)
                .map_err(|e| Error::invalid(e.to_string()))?;
        }
        self.store
            .update_category(
                &caller.helpdesk,
                id,
                &name.unwrap_or(current.name),
                &parent,
                self.clock.now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Refused while the category has subcategories or FAQs.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        self.store.category(&caller.helpdesk, id).await?;
        if self.parents(caller).await?.values().any(|p| p == id) {
            return Err(Error::invalid(
                "the category has subcategories: delete or move them first",
            ));
        }
        if self.store.category_has_faqs(&caller.helpdesk, id).await? {
            return Err(Error::invalid("the category has FAQs: delete or move them first"));
        }
        Ok(self.store.delete_category(&caller.helpdesk, id).await?)
    }
}
