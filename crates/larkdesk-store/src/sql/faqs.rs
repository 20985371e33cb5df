//! FAQs, their images and their search.

use async_trait::async_trait;
use larkdesk_domain::ids::FaqId;

use super::{SqlStore, found};
use crate::backend::{Backend, Builder, Columns, sql};
use crate::rows::{json_column, to_json};
use crate::{FaqFilter, FaqStore, FaqWrite, Helpdesk, StoreResult, StoredFaq};

const FAQ_COLUMNS: &str = "f.id, f.faq_id, f.category_id, f.question, f.answer, f.answer_richtext, f.tags,
    f.status, f.create_time, f.update_time, f.expire_time, f.created_by, f.updated_by";

fn faq(row: &impl Columns) -> StoreResult<StoredFaq> {
    Ok(StoredFaq {
        row: row.int("id")?,
        faq_id: FaqId::new(row.int("faq_id")?),
        category_id: row.opt_text("category_id")?,
        question: row.text("question")?,
        answer: row.text("answer")?,
        answer_richtext: json_column(&row.text("answer_richtext")?, "answer_richtext")?,
        tags: json_column(&row.text("tags")?, "tags")?,
        status: row.int("status")?,
        create_time: row.int("create_time")?,
        update_time: row.int("update_time")?,
        expire_time: row.int("expire_time")?,
        created_by: row.text("created_by")?,
        updated_by: row.text("updated_by")?,
    })
}

/// `%term%`: terms hold letters and digits only (`larkdesk_domain::faq::terms`), nothing LIKE
/// treats specially.
fn pattern(term: &str) -> String {
    format!("%{term}%")
}

/// ` FROM faqs f WHERE …` of `GET /faqs`.
fn list_where<'q, DB: Backend>(q: &mut Builder<'q>, helpdesk: &Helpdesk, filter: &'q FaqFilter) {
    q.push(" FROM faqs f WHERE f.helpdesk_id = ")
        .arg(helpdesk.id)
        .push(" AND f.status = ")
        .arg(filter.status);
    if let Some(category) = &filter.category_id {
        q.push(" AND f.category_id = ").arg(category.as_str());
    }
    for term in &filter.all_terms {
        let p = q.placeholder(pattern(term));
        q.push(" AND ").push(&DB::faq_text_like(&p));
    }
}

#[async_trait]
impl<DB: Backend> FaqStore for SqlStore<DB> {
    async fn create_faq(&self, helpdesk: &Helpdesk, id: FaqId, w: &FaqWrite<'_>) -> StoreResult<()> {
        sql(
            "INSERT INTO faqs (faq_id, helpdesk_id, category_id, question, answer, answer_richtext, tags,
               status, create_time, update_time, created_by, updated_by, search_text)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9, $9, $10)",
        )
        .bind(id)
        .bind(helpdesk.id)
        .bind(w.category_id)
        .bind(&w.content.question)
        .bind(&w.content.answer)
        .bind(to_json(&w.content.answer_richtext))
        .bind(to_json(&w.content.tags))
        .bind(w.at_secs)
        .bind(w.by)
        .bind(w.search_text)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn faq(&self, helpdesk: &Helpdesk, id: FaqId) -> StoreResult<StoredFaq> {
        let row = sql(format!(
            "SELECT {FAQ_COLUMNS} FROM faqs f WHERE f.helpdesk_id = $1 AND f.faq_id = $2"
        ))
        .bind(helpdesk.id)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        faq(&row)
    }

    async fn update_faq(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        status: i64,
        w: &FaqWrite<'_>,
    ) -> StoreResult<()> {
        let changed = sql(
            "UPDATE faqs SET category_id = $1, question = $2, answer = $3, answer_richtext = $4, tags = $5,
               update_time = $6, updated_by = $7, search_text = $8
             WHERE helpdesk_id = $9 AND faq_id = $10 AND status = $11",
        )
        .bind(w.category_id)
        .bind(&w.content.question)
        .bind(&w.content.answer)
        .bind(to_json(&w.content.answer_richtext))
        .bind(to_json(&w.content.tags))
        .bind(w.at_secs)
        .bind(w.by)
        .bind(w.search_text)
        .bind(helpdesk.id)
        .bind(id)
        .bind(status)
        .execute(&self.writer)
        .await?;
        found(changed)
    }

    async fn set_faq_status(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        from: i64,
        to: i64,
        by: &str,
        at_secs: i64,
    ) -> StoreResult<()> {
        let changed = sql("UPDATE faqs SET status = $1, update_time = $2, updated_by = $3
             WHERE helpdesk_id = $4 AND faq_id = $5 AND status = $6")
        .bind(to)
        .bind(at_secs)
        .bind(by)
        .bind(helpdesk.id)
        .bind(id)
        .bind(from)
        .execute(&self.writer)
        .await?;
        found(changed)
    }

    async fn list_faqs(
        &self,
        helpdesk: &Helpdesk,
        filter: &FaqFilter,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<StoredFaq>> {
        let mut q = Builder::new::<DB>(format!("SELECT {FAQ_COLUMNS}"));
        list_where::<DB>(&mut q, helpdesk, filter);
        q.push(" AND f.id > ")
            .arg(after_row)
            .push(" ORDER BY f.id LIMIT ")
            .arg(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(faq).collect()
    }

    async fn count_faqs(&self, helpdesk: &Helpdesk, filter: &FaqFilter) -> StoreResult<i64> {
        let mut q = Builder::new::<DB>("SELECT COUNT(*) AS n");
        list_where::<DB>(&mut q, helpdesk, filter);
        q.build().fetch_one(&self.pool).await?.int("n")
    }

    async fn search_faqs(
        &self,
        helpdesk: &Helpdesk,
        status: i64,
        terms: &[String],
        limit: i64,
    ) -> StoreResult<Vec<StoredFaq>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Builder::new::<DB>(format!("SELECT {FAQ_COLUMNS} FROM faqs f WHERE f.helpdesk_id = "));
        q.arg(helpdesk.id)
            .push(" AND f.status = ")
            .arg(status)
            .push(" AND (");
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            let p = q.placeholder(pattern(term));
            q.push(&DB::faq_text_like(&p));
        }
        q.push(") ORDER BY f.update_time DESC, f.faq_id DESC LIMIT ")
            .arg(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(faq).collect()
    }

    async fn put_faq_image(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        image_key: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let changed = sql(
            "INSERT INTO faq_images (faq_row, image_key, content_type, bytes)
             SELECT f.id, $1, $2, $3 FROM faqs f WHERE f.helpdesk_id = $4 AND f.faq_id = $5
             ON CONFLICT (faq_row, image_key) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes",
        )
        .bind(image_key)
        .bind(content_type)
        .bind(bytes)
        .bind(helpdesk.id)
        .bind(id)
        .execute(&self.writer)
        .await?;
        found(changed)
    }

    async fn faq_image(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        image_key: &str,
    ) -> StoreResult<(String, Vec<u8>)> {
        let row = sql(
            "SELECT i.content_type, i.bytes FROM faq_images i JOIN faqs f ON f.id = i.faq_row
             WHERE f.helpdesk_id = $1 AND f.faq_id = $2 AND i.image_key = $3",
        )
        .bind(helpdesk.id)
        .bind(id)
        .bind(image_key)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.text("content_type")?, row.bytes("bytes")?))
    }
}
