//! Customized fields: `/customized_fields` and `/ticket_customized_fields` CRUD.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use larkdesk_domain::ids;
use larkdesk_service::fields::{FIELD_TYPES, FieldPatch};
use larkdesk_store::FieldDefinition;
use larkdesk_wire::fields::{CustomizedFieldsData, DropdownOptions, ListTicketCustomizedFieldsData};
use serde::Deserialize;
use serde_json::json;

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::query::QueryParams;
use crate::state::SharedState;

fn field_id(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    let Path(id) = path.map_err(|_| ApiError::bad_request())?;
    if !ids::is_valid_numeric_id(&id) {
        return Err(
            ApiError::bad_request().with_message("ticket_customized_field_id must be a numeric string")
        );
    }
    Ok(id)
}

/// `GET /customized_fields?visible_only=`
pub async fn customized_fields(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CustomizedFields)
        .await?;
    let visible = QueryParams::parse(raw.as_deref())
        .bool("visible_only")?
        .filter(|v| *v);
    let ticket_customized_fields = state.services.fields.all(&caller, visible).await?;
    Ok(success(CustomizedFieldsData {
        user_customized_fields: Vec::new(),
        ticket_customized_fields,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewTicketCustomizedField)]
pub(crate) struct NewField {
    #[schema(value_type = String, required = true, min_length = 1)]
    key_name: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1)]
    display_name: Option<String>,
    /// An integer as a string (`"3"`); a number is accepted too.
    #[schema(value_type = String, required = true, pattern = "^[0-9]{1,9}$")]
    position: Option<serde_json::Value>,
    #[schema(value_type = String, required = true, pattern = "^(string|multiline|dropdown|dropdown_nested)$")]
    field_type: Option<String>,
    #[schema(value_type = String, required = true)]
    description: Option<String>,
    #[schema(value_type = bool, required = true)]
    visible: Option<bool>,
    #[serde(default)]
    editable: Option<bool>,
    #[schema(value_type = bool, required = true)]
    required: Option<bool>,
    #[serde(default)]
    dropdown_options: Option<DropdownOptions>,
    #[serde(default)]
    dropdown_allow_multiple: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    helpdesk_id: Option<String>,
}

/// `position` is a string on the wire ("3"); accept a number too.
fn position_text(v: Option<serde_json::Value>) -> ApiResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if s.parse::<i64>().is_ok() => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) if n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::bad_request().with_message("position must be an integer string")),
    }
}

/// `POST /ticket_customized_fields`
pub async fn create_field(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateTicketCustomizedField)
        .await?;
    let req: NewField = parse_body(body)?;
    let field_type = required(req.field_type, "field_type")?;
    if !FIELD_TYPES.contains(&field_type.as_str()) {
        return Err(ApiError::bad_request()
            .with_message("field_type must be string, multiline, dropdown or dropdown_nested"));
    }
    let def = FieldDefinition {
        key_name: required(req.key_name.filter(|k| !k.is_empty()), "key_name")?,
        display_name: required(req.display_name.filter(|k| !k.is_empty()), "display_name")?,
        position: required(position_text(req.position)?, "position")?,
        field_type,
        description: required(req.description, "description")?,
        visible: required(req.visible, "visible")?,
        editable: req.editable.unwrap_or(true),
        required: required(req.required, "required")?,
        dropdown_allow_multiple: req.dropdown_allow_multiple.unwrap_or(false),
        dropdown_options: req.dropdown_options,
    };
    state.services.fields.create(&caller, &def).await?;
    Ok(success(json!({})))
}

/// `GET /ticket_customized_fields/:id`: the field flat in `data`.
pub async fn get_field(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::GetTicketCustomizedField)
        .await?;
    let id = field_id(path)?;
    Ok(success(state.services.fields.get(&caller, &id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = PatchTicketCustomizedField)]
pub(crate) struct PatchBody {
    display_name: Option<String>,
    /// An integer as a string (`"3"`); a number is accepted too.
    #[schema(value_type = Option<String>)]
    position: Option<serde_json::Value>,
    description: Option<String>,
    visible: Option<bool>,
    editable: Option<bool>,
    required: Option<bool>,
    dropdown_options: Option<DropdownOptions>,
    dropdown_allow_multiple: Option<bool>,
}

/// `PATCH /ticket_customized_fields/:id`: change the given attributes.
pub async fn update_field(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::UpdateTicketCustomizedField)
        .await?;
    let id = field_id(path)?;
    let patch: PatchBody = parse_body(body)?;
    let patch = FieldPatch {
        display_name: patch.display_name,
        position: position_text(patch.position)?,
        description: patch.description,
        visible: patch.visible,
        editable: patch.editable,
        required: patch.required,
        dropdown_options: patch.dropdown_options,
        dropdown_allow_multiple: patch.dropdown_allow_multiple,
    };
    state.services.fields.update(&caller, &id, patch).await?;
    Ok(success(json!({})))
}

/// `DELETE /ticket_customized_fields/:id`
pub async fn delete_field(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::DeleteTicketCustomizedField)
        .await?;
    let id = field_id(path)?;
    state.services.fields.delete(&caller, &id).await?;
    Ok(success(json!({})))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ListTicketCustomizedFieldsBody)]
pub(crate) struct ListBody {
    visible: Option<bool>,
}

/// `GET /ticket_customized_fields?page_token&page_size` with a JSON body `{"visible": bool}`.
/// The page token is the position after the previous page; it is omitted on the last page.
pub async fn list_fields(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ListTicketCustomizedFields)
        .await?;
    let q = QueryParams::parse(raw.as_deref());
    let size = q.int("page_size")?.unwrap_or(20);
    if !(1..=100).contains(&size) {
        return Err(ApiError::bad_request().with_message("page_size must be between 1 and 100"));
    }
    let after = match q.get("page_token") {
        None => 0,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_request().with_message("invalid page_token"))?,
    };
    let filter: ListBody = parse_body(body)?;
    let (items, next_page_token) = state
        .services
        .fields
        .page(&caller, filter.visible, after, size)
        .await?;
    let has_more = next_page_token.is_some();
    Ok(success(ListTicketCustomizedFieldsData {
        has_more,
        next_page_token,
        items,
    }))
}
