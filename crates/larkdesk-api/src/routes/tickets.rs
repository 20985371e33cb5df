//! `/open-apis/helpdesk/v1/tickets…`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use larkdesk_domain::ids::is_valid_numeric_id;
use larkdesk_domain::scopes::{HELPDESK_ALL, HELPDESK_ALL_READONLY};
use larkdesk_wire::ticket::GetTicketData;

use crate::error::{ApiError, ApiResult};
use crate::json::success;
use crate::ratelimit::Endpoint;
use crate::state::SharedState;

/// Parse a path ticket id: 1–19 digits fitting an i64.
fn ticket_id(path: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let Path(raw) = path.map_err(|_| ApiError::bad_request().with_message("ticket_id is not valid UTF-8"))?;
    if !is_valid_numeric_id(&raw) {
        return Err(ApiError::bad_request().with_message("ticket_id must be a numeric string"));
    }
    raw.parse().map_err(|_| ApiError::bad_request())
}

/// `GET /tickets/:ticket_id`
pub async fn get_ticket(
    State(state): State<SharedState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .helpdesk_caller(
            &headers,
            Endpoint::GetTicket,
            &[HELPDESK_ALL_READONLY, HELPDESK_ALL],
        )
        .await?;
    let id = ticket_id(path)?;
    let ticket = state.store.ticket(&caller.helpdesk, id).await?;
    Ok(success(GetTicketData { ticket }))
}
