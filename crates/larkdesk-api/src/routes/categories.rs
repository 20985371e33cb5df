//! FAQ categories: `/categories` and `/categories/:id`. `POST` answers `data.category` (with
//! `parent_id`), `GET /categories/:id` the category flat in `data` (without it), the list a
//! tree with `children` (see README).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use larkdesk_service::categories::CategoryQuery;
use serde::Deserialize;
use serde_json::json;

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::query::QueryParams;
use crate::state::SharedState;

fn category_id(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    let Path(id) = path.map_err(|_| ApiError::bad_request())?;
    if id.is_empty() {
        return Err(ApiError::bad_request().with_message("the category id is empty"));
    }
    Ok(id)
}

/// SDKs send a whole `Category` (ids, helpdesk_id, …): only these are read.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CategoryBody {
    name: Option<String>,
    parent_id: Option<String>,
    language: Option<String>,
}

/// `POST /categories {name, parent_id, language?}`
pub async fn create_category(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateCategory)
        .await?;
    let req: CategoryBody = parse_body(body)?;
    let name = required(req.name.filter(|n| !n.is_empty()), "name")?;
    let parent_id = required(req.parent_id.filter(|p| !p.is_empty()), "parent_id")?;
    let category = state
        .services
        .categories
        .create(&caller, name, parent_id, req.language)
        .await?;
    Ok(success(json!({ "category": category })))
}

/// `GET /categories?lang=&order_by=1&asc=`
pub async fn list_categories(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListCategories)
        .await?;
    let q = QueryParams::parse(raw.as_deref());
    let query = CategoryQuery {
        lang: q.get("lang").map(str::to_owned),
        order_by: q.int("order_by")?,
        asc: q.bool("asc")?,
    };
    let categories = state.services.categories.list(&caller, &query).await?;
    Ok(success(json!({ "categories": categories })))
}

/// `GET /categories/:id`: flat in `data`.
pub async fn get_category(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::GetCategory)
        .await?;
    let id = category_id(path)?;
    Ok(success(state.services.categories.get(&caller, &id).await?))
}

/// `PATCH /categories/:id {name?, parent_id?}`
pub async fn patch_category(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::PatchCategory)
        .await?;
    let id = category_id(path)?;
    let req: CategoryBody = parse_body(body)?;
    if req.name.as_deref() == Some("") {
        return Err(ApiError::bad_request().with_message("name must not be empty"));
    }
    state
        .services
        .categories
        .update(&caller, &id, req.name, req.parent_id.filter(|p| !p.is_empty()))
        .await?;
    Ok(success(json!({})))
}

/// `DELETE /categories/:id`: refused while it has subcategories or FAQs.
pub async fn delete_category(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::DeleteCategory)
        .await?;
    let id = category_id(path)?;
    state.services.categories.delete(&caller, &id).await?;
    Ok(success(json!({})))
}
