//! FAQs (the knowledge base): `/faqs`, `/faqs/:id`, `/faqs/search`. Unlike tickets, FAQ times
//! (`create_time`, `update_time`, `expire_time`) are integer **seconds**, and `answer_richtext`
//! is an array of [`Richtext`] in responses (requests may send it as JSON text).

use serde::{Deserialize, Serialize};

use crate::ticket::TicketUser;

/// One element of a rich-text answer: `type` is `text`, `hyperlink`, `img` or `line break`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Richtext {
    #[serde(default)]
    pub content: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A category as a FAQ names it (without `children`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaqCategory {
    pub category_id: String,
    /// Legacy copy of `category_id`.
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub helpdesk_id: String,
    pub language: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Faq {
    pub faq_id: String,
    /// Legacy copy of `faq_id`.
    pub id: String,
    pub helpdesk_id: String,
    pub question: String,
    pub answer: String,
    pub answer_richtext: Vec<Richtext>,
    /// Seconds.
    pub create_time: i64,
    /// Seconds.
    pub update_time: i64,
    /// Seconds; 0 = never expires.
    pub expire_time: i64,
    pub categories: Vec<FaqCategory>,
    /// "Similar questions".
    pub tags: Vec<String>,
    pub update_user: TicketUser,
    pub create_user: TicketUser,
}

/// `data` of `GET /faqs/:id` and `POST /faqs`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaqData {
    pub faq: Faq,
}

/// `data` of `GET /faqs`: `page_size` is the number of items returned; `page_token` only while
/// `has_more`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListFaqsData {
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    pub page_size: i64,
    pub total: i64,
    pub items: Vec<Faq>,
}

/// `data` of `GET /faqs/search` (no `total`, no `page_size`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchFaqsData {
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    pub items: Vec<Faq>,
}
