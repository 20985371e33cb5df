//! FAQs (`/faqs`): the knowledge base, its search and its images. The rules (what a FAQ must
//! hold, how search matches and ranks) are `larkdesk_domain::faq`'s; this reads and writes.
//!
//! - Writes (create, update, delete) with a user access token need an agent (403 otherwise);
//!   tenant tokens may write.
//! - `DELETE` moves a FAQ to status 0 ("deleted, recoverable"); it is then gone for get, update,
//!   search and images, and listed only by `GET /faqs?status=0`. Status 2 ("deleted, not
//!   recoverable") never holds a FAQ here.
//! - Search reads at most [`SEARCH_CANDIDATES`] candidates (the most recently updated FAQs that
//!   hold any term), ranks them, and pages through the ranking by offset.

use std::collections::HashMap;
use std::sync::Arc;

use larkdesk_domain::faq::{self, FaqContent};
use larkdesk_domain::ids::{FaqId, TenantRowId};
use larkdesk_store::prelude::*;
use larkdesk_store::{FaqFilter, FaqWrite, Helpdesk, StoreError, StoredFaq};
use larkdesk_wire::faqs::{Faq, FaqCategory, Richtext};
use larkdesk_wire::ticket::TicketUser;

use crate::{Caller, Clock, Error, Result};

/// FAQ status "online".
pub const ONLINE: i64 = 1;
/// FAQ status "deleted, recoverable".
pub const DELETED: i64 = 0;
/// Most candidates one search ranks.
pub const SEARCH_CANDIDATES: i64 = 1000;
/// Most FAQs the emulated bot answers a question with.
pub const BOT_ANSWERS: i64 = 3;

/// A FAQ's content as a request gives it; on update, what is not given is kept.
#[derive(Debug, Clone, Default)]
pub struct FaqInput {
    pub category_id: Option<String>,
    pub question: Option<String>,
    pub answer: Option<String>,
    pub answer_richtext: Option<Vec<Richtext>>,
    pub tags: Option<Vec<String>>,
}

/// A page of a listing: items, the next page's token (only while there is one), the total.
#[derive(Debug, Clone)]
pub struct FaqPage {
    pub items: Vec<Faq>,
    pub next_page_token: Option<String>,
    pub total: i64,
}

#[derive(Clone)]
pub struct Faqs {
    store: Arc<dyn Store>,
    clock: Clock,
}

fn refused(e: faq::FaqError) -> Error {
    Error::invalid(e.to_string())
}

impl Faqs {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    fn may_write(caller: &Caller) -> Result<()> {
        match &caller.user {
            Some(u) if !u.is_agent => Err(Error::Forbidden(
                "only agents of the helpdesk may change FAQs".into(),
            )),
            _ => Ok(()),
        }
    }

    /// A person's directory profile (just the id when the directory does not know them),
    /// remembered in `seen` for the rest of a page.
    async fn profile(
        &self,
        tenant: TenantRowId,
        open_id: &str,
        seen: &mut HashMap<String, TicketUser>,
    ) -> Result<TicketUser> {
        if open_id.is_empty() {
            return Ok(TicketUser::default());
        }
        if let Some(known) = seen.get(open_id) {
            return Ok(known.clone());
        }
        let user = match self.store.user(tenant, open_id).await {
            Ok(record) => record.user,
            Err(StoreError::NotFound) => TicketUser {
                id: open_id.to_owned(),
                ..TicketUser::default()
            },
            Err(e) => return Err(e.into()),
        };
        seen.insert(open_id.to_owned(), user.clone());
        Ok(user)
    }

    /// The wire FAQ, with its people's directory profiles.
    async fn render(&self, helpdesk: &Helpdesk, f: StoredFaq) -> Result<Faq> {
        self.render_with(helpdesk, f, &mut HashMap::new()).await
    }

    async fn render_with(
        &self,
        helpdesk: &Helpdesk,
        f: StoredFaq,
        seen: &mut HashMap<String, TicketUser>,
    ) -> Result<Faq> {
        let id = f.faq_id.to_string();
        // The category as it is now; a FAQ whose category was deleted shows its id only.
        let mut categories = Vec::new();
        if let Some(c) = &f.category_id {
            let mut shown = FaqCategory {
                category_id: c.clone(),
                id: c.clone(),
                helpdesk_id: helpdesk.helpdesk_id.clone(),
                ..FaqCategory::default()
            };
            match self.store.category(helpdesk, c).await {
                Ok(record) => {
                    shown.name = record.category.name;
                    shown.parent_id = record.category.parent_id;
                    shown.language = record.category.language;
                }
                Err(larkdesk_store::StoreError::NotFound) => {}
                Err(err) => return Err(err.into()),
            }
            categories.push(shown);
        }
        Ok(Faq {
            faq_id: id.clone(),
            id,
            helpdesk_id: helpdesk.helpdesk_id.clone(),
            question: f.question,
            answer: f.answer,
            answer_richtext: f.answer_richtext,
            create_time: f.create_time,
            update_time: f.update_time,
            expire_time: f.expire_time,
            categories,
            tags: f.tags,
            update_user: self.profile(helpdesk.tenant_id, &f.updated_by, seen).await?,
            create_user: self.profile(helpdesk.tenant_id, &f.created_by, seen).await?,
        })
    }

    /// FAQs of a page; each person is looked up once per page.
    async fn render_all(&self, helpdesk: &Helpdesk, faqs: Vec<StoredFaq>) -> Result<Vec<Faq>> {
        let mut seen = HashMap::new();
        let mut out = Vec::with_capacity(faqs.len());
        for f in faqs {
            out.push(self.render_with(helpdesk, f, &mut seen).await?);
        }
        Ok(out)
    }

    /// An online FAQ.
    async fn online(&self, helpdesk: &Helpdesk, id: FaqId) -> Result<StoredFaq> {
        let f = self.store.faq(helpdesk, id).await?;
        if f.status != ONLINE {
            return Err(Error::NotFound);
        }
        Ok(f)
    }

    fn check_category(category_id: Option<&str>) -> Result<()> {
        // TODO(categories): refuse a category_id that names no category of the helpdesk once the
        // categories table (agents branch, migration 0008) is merged. Until then any numeric id
        // is kept as given.
        match category_id {
            Some(c) if !larkdesk_domain::ids::is_valid_numeric_id(c) => {
                Err(Error::invalid("category_id must be a numeric string"))
            }
            _ => Ok(()),
        }
    }

    pub async fn create(&self, caller: &Caller, input: FaqInput) -> Result<Faq> {
        Self::may_write(caller)?;
        let category_id = input.category_id.filter(|c| !c.is_empty());
        Self::check_category(category_id.as_deref())?;
        let content = faq::content(
            input.question.as_deref(),
            input.answer.as_deref(),
            input.answer_richtext,
            &input.tags.unwrap_or_default(),
        )
        .map_err(refused)?;
        let id = FaqId::generate();
        self.write(caller, id, category_id.as_deref(), &content, true)
            .await?;
        let f = self.store.faq(&caller.helpdesk, id).await?;
        self.render(&caller.helpdesk, f).await
    }

    async fn write(
        &self,
        caller: &Caller,
        id: FaqId,
        category_id: Option<&str>,
        content: &FaqContent,
        new: bool,
    ) -> Result<()> {
        let search_text = faq::search_text(&content.question, &content.tags, &content.answer);
        let by = caller.user_id();
        let w = FaqWrite {
            category_id,
            content,
            search_text: &search_text,
            by: &by,
            at_secs: self.clock.now_secs(),
        };
        if new {
            self.store.create_faq(&caller.helpdesk, id, &w).await?;
        } else {
            self.store.update_faq(&caller.helpdesk, id, ONLINE, &w).await?;
        }
        Ok(())
    }

    pub async fn get(&self, caller: &Caller, id: FaqId) -> Result<Faq> {
        let f = self.online(&caller.helpdesk, id).await?;
        self.render(&caller.helpdesk, f).await
    }

    /// Replace what `input` gives; the rest stays. Giving `answer` without `answer_richtext`
    /// (or the reverse) derives the other from it again.
    pub async fn update(&self, caller: &Caller, id: FaqId, input: FaqInput) -> Result<()> {
        Self::may_write(caller)?;
        let current = self.online(&caller.helpdesk, id).await?;
        let category_id = match input.category_id {
            Some(c) if c.is_empty() => None,
            Some(c) => Some(c),
            None => current.category_id,
        };
        Self::check_category(category_id.as_deref())?;
        let (answer, richtext) = match (input.answer, input.answer_richtext) {
            (None, None) => (Some(current.answer), Some(current.answer_richtext)),
            given => given,
        };
        let content = faq::content(
            Some(input.question.as_deref().unwrap_or(&current.question)),
            answer.as_deref(),
            richtext,
            &input.tags.unwrap_or(current.tags),
        )
        .map_err(refused)?;
        self.write(caller, id, category_id.as_deref(), &content, false)
            .await
    }

    pub async fn delete(&self, caller: &Caller, id: FaqId) -> Result<()> {
        Self::may_write(caller)?;
        self.store
            .set_faq_status(
                &caller.helpdesk,
                id,
                ONLINE,
                DELETED,
                &caller.user_id(),
                self.clock.now_secs(),
            )
            .await?;
        Ok(())
    }

    /// `GET /faqs`: FAQs in creation order. `search` keeps FAQs holding every term of it.
    pub async fn list(
        &self,
        caller: &Caller,
        category_id: Option<String>,
        status: i64,
        search: Option<&str>,
        after_row: i64,
        size: i64,
    ) -> Result<FaqPage> {
        let filter = FaqFilter {
            category_id,
            status,
            all_terms: search.map(faq::terms).unwrap_or_default(),
        };
        if search.is_some_and(|s| !s.trim().is_empty()) && filter.all_terms.is_empty() {
            // Only separators: nothing can hold them.
            return Ok(FaqPage {
                items: Vec::new(),
                next_page_token: None,
                total: 0,
            });
        }
        let total = self.store.count_faqs(&caller.helpdesk, &filter).await?;
        let mut rows = self
            .store
            .list_faqs(&caller.helpdesk, &filter, after_row, size + 1)
            .await?;
        let has_more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        let next_page_token = has_more.then(|| rows.last().map(|f| f.row.to_string())).flatten();
        Ok(FaqPage {
            items: self.render_all(&caller.helpdesk, rows).await?,
            next_page_token,
            total,
        })
    }

    /// `GET /faqs/search`: online FAQs ranked for `query` (see `larkdesk_domain::faq`), the page
    /// at `offset`.
    pub async fn search(&self, caller: &Caller, query: &str, offset: i64, size: i64) -> Result<FaqPage> {
        self.search_in(&caller.helpdesk, query, offset, size).await
    }

    /// [`Faqs::search`] in a helpdesk.
    pub async fn search_in(
        &self,
        helpdesk: &Helpdesk,
        query: &str,
        offset: i64,
        size: i64,
    ) -> Result<FaqPage> {
        let terms = faq::terms(query);
        let found = self
            .store
            .search_faqs(helpdesk, ONLINE, &terms, SEARCH_CANDIDATES)
            .await?;
        let candidates: Vec<faq::Candidate<'_>> = found
            .iter()
            .map(|f| faq::Candidate {
                question: &f.question,
                tags: &f.tags,
                answer: &f.answer,
                update_time: f.update_time,
                id: f.faq_id.get(),
            })
            .collect();
        let order = faq::rank(query, &candidates);
        let total = order.len() as i64;
        let page: Vec<usize> = order
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(size as usize)
            .collect();
        let next = offset + page.len() as i64;
        let next_page_token = (next < total && !page.is_empty()).then(|| next.to_string());
        let mut found: Vec<Option<StoredFaq>> = found.into_iter().map(Some).collect();
        let rows = page.into_iter().filter_map(|i| found[i].take()).collect();
        Ok(FaqPage {
            items: self.render_all(helpdesk, rows).await?,
            next_page_token,
            total,
        })
    }

    /// The emulated helpdesk bot: it answers the guest message of `event_id` with the FAQs the
    /// search ranks best for it (at most [`BOT_ANSWERS`]), as `answer_user_query` would, and
    /// returns their ids. Nothing is posted when no FAQ matches.
    pub async fn bot_answer(
        &self,
        tickets: &crate::tickets::Tickets,
        helpdesk: &Helpdesk,
        id: larkdesk_domain::ids::TicketId,
        event_id: &str,
    ) -> Result<Vec<String>> {
        let question = tickets.asked(helpdesk, id, event_id).await?;
        let page = self.search_in(helpdesk, &question, 0, BOT_ANSWERS).await?;
        let total = page.items.len();
        // Scores for the answer: 1.0 for the best, falling by rank.
        let faqs: Vec<(String, f64)> = page
            .items
            .iter()
            .enumerate()
            .map(|(rank, f)| (f.faq_id.clone(), 1.0 - rank as f64 / (total.max(1) as f64 * 2.0)))
            .collect();
        if !faqs.is_empty() {
            tickets
                .answer_with_faqs(helpdesk, String::new(), id, event_id, &faqs)
                .await?;
        }
        Ok(faqs.into_iter().map(|(id, _)| id).collect())
    }

    /// `(content_type, bytes)` of an image of an online FAQ.
    pub async fn image(&self, caller: &Caller, id: FaqId, image_key: &str) -> Result<(String, Vec<u8>)> {
        self.online(&caller.helpdesk, id).await?;
        Ok(self.store.faq_image(&caller.helpdesk, id, image_key).await?)
    }

    /// Store an image for an online FAQ (admin API); returns its key.
    pub async fn put_image(
        &self,
        helpdesk: &Helpdesk,
        id: FaqId,
        image_key: Option<String>,
        bytes: &[u8],
    ) -> Result<String> {
        self.online(helpdesk, id).await?;
        if bytes.is_empty() {
            return Err(Error::invalid("image is empty"));
        }
        let key = image_key
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| format!("img_{}", larkdesk_domain::ids::new_event_id()));
        if key.len() > 128
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::invalid(
                "image_key: up to 128 letters, digits, '_' and '-'",
            ));
        }
        self.store
            .put_faq_image(
                helpdesk,
                id,
                &key,
                crate::tickets::image_content_type(bytes),
                bytes,
            )
            .await?;
        Ok(key)
    }
}
