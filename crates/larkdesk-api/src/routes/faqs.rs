//! FAQs: `/faqs` CRUD, `/faqs/search` and `/faqs/:id/image/:image_key`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use larkdesk_domain::faq;
use larkdesk_domain::ids::FaqId;
use larkdesk_service::faqs::FaqInput;
use larkdesk_wire::faqs::{FaqData, ListFaqsData, SearchFaqsData};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::query::QueryParams;
use crate::state::SharedState;

fn parse_faq_id(raw: &str) -> ApiResult<FaqId> {
    FaqId::parse(raw).ok_or_else(|| ApiError::bad_request().with_message("id must be a numeric string"))
}

fn path_faq_id(path: Result<Path<String>, PathRejection>) -> ApiResult<FaqId> {
    let Path(raw) = path.map_err(|_| ApiError::bad_request().with_message("id is not valid UTF-8"))?;
    parse_faq_id(&raw)
}

/// `FaqCreateInfo` / `FaqUpdateInfo`. `answer_richtext` is JSON text or an array (either SDK).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct FaqBody {
    category_id: Option<String>,
    question: Option<String>,
    answer: Option<String>,
    #[serde(default)]
    answer_richtext: Value,
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = FaqRequest)]
pub(crate) struct Wrapped {
    #[schema(value_type = FaqBody, required = true)]
    faq: Option<FaqBody>,
}

fn faq_input(body: Body) -> ApiResult<FaqInput> {
    let wrapped: Wrapped = parse_body(body)?;
    let faq = required(wrapped.faq, "faq")?;
    let answer_richtext = faq::parse_richtext(&faq.answer_richtext)
        .map_err(|e| ApiError::bad_request().with_message(e.to_string()))?;
    Ok(FaqInput {
        category_id: faq.category_id,
        question: faq.question,
        answer: faq.answer,
        answer_richtext,
        tags: faq.tags,
    })
}

/// `page_size`: 20 unless given, 1 to 100.
fn page_size(q: &QueryParams) -> ApiResult<i64> {
    let size = q.int("page_size")?.unwrap_or(20);
    if !(1..=100).contains(&size) {
        return Err(ApiError::bad_request().with_message("page_size must be between 1 and 100"));
    }
    Ok(size)
}

/// A page token: a non-negative integer (0 without one).
fn page_token(q: &QueryParams) -> ApiResult<i64> {
    match q.get("page_token") {
        None => Ok(0),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_request().with_message("invalid page_token")),
    }
}

/// `POST /faqs {"faq": FaqCreateInfo}`
pub async fn create_faq(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::CreateFaq).await?;
    let input = faq_input(body)?;
    let faq = state.services.faqs.create(&caller, input).await?;
    Ok(success(FaqData { faq }))
}

/// `GET /faqs/:id`
pub async fn get_faq(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::GetFaq).await?;
    let id = path_faq_id(path)?;
    let faq = state.services.faqs.get(&caller, id).await?;
    Ok(success(FaqData { faq }))
}

/// `PATCH /faqs/:id {"faq": FaqUpdateInfo}`
pub async fn update_faq(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::UpdateFaq).await?;
    let id = path_faq_id(path)?;
    let input = faq_input(body)?;
    state.services.faqs.update(&caller, id, input).await?;
    Ok(success(json!({})))
}

/// `DELETE /faqs/:id`
pub async fn delete_faq(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::DeleteFaq).await?;
    let id = path_faq_id(path)?;
    state.services.faqs.delete(&caller, id).await?;
    Ok(success(json!({})))
}

/// `GET /faqs?category_id&status&search&page_token&page_size`. `status` is a string: "1"
/// online (the default), "0" deleted, "2" deleted for good (never any here).
pub async fn list_faqs(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::ListFaqs).await?;
    let q = QueryParams::parse(raw.as_deref());
    let status = match q.get("status") {
        None | Some("1") => 1,
        Some("0") => 0,
        Some("2") => 2,
        Some(_) => return Err(ApiError::bad_request().with_message("status must be \"0\", \"1\" or \"2\"")),
    };
    let size = page_size(&q)?;
    let after = page_token(&q)?;
    let page = state
        .services
        .faqs
        .list(
            &caller,
            q.get("category_id").map(str::to_owned),
            status,
            q.get("search"),
            after,
            size,
        )
        .await?;
    Ok(success(ListFaqsData {
        has_more: page.next_page_token.is_some(),
        page_token: page.next_page_token,
        page_size: page.items.len() as i64,
        total: page.total,
        items: page.items,
    }))
}

/// `GET /faqs/search?query&base64&page_token&page_size`. With `base64=true` the query is
/// base64 (standard or URL-safe alphabet, padding optional) of UTF-8 text.
pub async fn search_faqs(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::SearchFaqs).await?;
    let q = QueryParams::parse(raw.as_deref());
    let query = required(q.get("query"), "query")?;
    let query = if q.bool("base64")?.unwrap_or(false) {
        decode_base64_text(query)
            .ok_or_else(|| ApiError::bad_request().with_message("query is not base64 of UTF-8 text"))?
    } else {
        query.to_owned()
    };
    let size = page_size(&q)?;
    let offset = page_token(&q)?;
    let page = state.services.faqs.search(&caller, &query, offset, size).await?;
    Ok(success(SearchFaqsData {
        has_more: page.next_page_token.is_some(),
        page_token: page.next_page_token,
        items: page.items,
    }))
}

fn decode_base64_text(text: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())?;
    String::from_utf8(bytes).ok()
}

/// `GET /faqs/:id/image/:image_key`: the image's bytes.
pub async fn faq_image(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state.auth.helpdesk_caller(&headers, Endpoint::FaqImage).await?;
    let Path((id, image_key)) = path.map_err(|_| ApiError::bad_request())?;
    let id = parse_faq_id(&id)?;
    let (content_type, bytes) = state.services.faqs.image(&caller, id, &image_key).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{image_key}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_queries_in_either_alphabet() {
        assert_eq!(decode_base64_text("5bel5Y2V").as_deref(), Some("工单"));
        assert_eq!(decode_base64_text("cmVzZXQ=").as_deref(), Some("reset"));
        assert_eq!(decode_base64_text("cmVzZXQ").as_deref(), Some("reset"));
        assert_eq!(decode_base64_text("%%%"), None);
        assert_eq!(decode_base64_text("/w=="), None); // not UTF-8
    }
}
