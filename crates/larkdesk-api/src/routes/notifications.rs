//! Push jobs: `/notifications` and its steps (preview, approval, sending).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use larkdesk_domain::ids::NotificationId;
use larkdesk_service::notifications::JobInput;
use larkdesk_wire::notifications::{
    CreateNotificationData, GetNotificationData, NotificationChat, NotificationDepartment, NotificationUser,
    SubmitApproveData,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tickets::Body;
use crate::auth::CallerHeaders;
use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::json::{parse_body, required, success};
use crate::query::QueryParams;
use crate::state::SharedState;

fn path_id(path: Result<Path<String>, PathRejection>) -> ApiResult<NotificationId> {
    let Path(raw) =
        path.map_err(|_| ApiError::bad_request().with_message("notification_id is not valid UTF-8"))?;
    NotificationId::parse(&raw)
        .ok_or_else(|| ApiError::bad_request().with_message("notification_id must be a numeric string"))
}

/// `user_id_type`: `open_id` (the default), `union_id` or `user_id`. larkdesk's directory has
/// open_ids only; ids are kept as given whatever the type says.
fn check_user_id_type(raw: Option<&str>) -> ApiResult<()> {
    match QueryParams::parse(raw).get("user_id_type") {
        None | Some("open_id" | "union_id" | "user_id") => Ok(()),
        Some(_) => {
            Err(ApiError::bad_request().with_message("user_id_type must be open_id, union_id or user_id"))
        }
    }
}

/// The job as create and PATCH send it. SDKs send the whole object, read-only fields too
/// (ignored here); `null` lists are empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationJob)]
pub(crate) struct JobBody {
    job_name: Option<String>,
    push_content: Option<String>,
    push_type: Option<i64>,
    push_scope_type: Option<i64>,
    new_staff_scope_type: Option<i64>,
    new_staff_scope_department_list: Option<Vec<NotificationDepartment>>,
    user_list: Option<Vec<NotificationUser>>,
    department_list: Option<Vec<NotificationDepartment>>,
    chat_list: Option<Vec<NotificationChat>>,
    ext: Option<String>,
}

impl From<JobBody> for JobInput {
    fn from(b: JobBody) -> Self {
        Self {
            job_name: b.job_name,
            push_content: b.push_content,
            push_type: b.push_type,
            push_scope_type: b.push_scope_type,
            new_staff_scope_type: b.new_staff_scope_type,
            new_staff_scope_department_list: b.new_staff_scope_department_list.unwrap_or_default(),
            user_list: b.user_list.unwrap_or_default(),
            department_list: b.department_list.unwrap_or_default(),
            chat_list: b.chat_list.unwrap_or_default(),
            ext: b.ext,
        }
    }
}

/// `POST /notifications?user_id_type=`
pub async fn create(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CreateNotification)
        .await?;
    check_user_id_type(raw.as_deref())?;
    let job: JobBody = parse_body(body)?;
    let (id, status) = state.services.notifications.create(&caller, job.into()).await?;
    Ok(success(CreateNotificationData {
        notification_id: id.to_string(),
        status,
    }))
}

/// `GET /notifications/:notification_id?user_id_type=`
pub async fn get(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::GetNotification)
        .await?;
    let id = path_id(path)?;
    check_user_id_type(raw.as_deref())?;
    let (notification, approval_app_link) = state.services.notifications.get(&caller, id).await?;
    Ok(success(GetNotificationData {
        notification,
        approval_app_link,
    }))
}

/// `PATCH /notifications/:notification_id?user_id_type=`: drafts (and rejected jobs) only.
pub async fn update(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::UpdateNotification)
        .await?;
    let id = path_id(path)?;
    check_user_id_type(raw.as_deref())?;
    let job: JobBody = parse_body(body)?;
    state
        .services
        .notifications
        .update(&caller, id, job.into())
        .await?;
    Ok(success(json!({})))
}

/// `POST /notifications/:notification_id/preview`
pub async fn preview(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::PreviewNotification)
        .await?;
    let id = path_id(path)?;
    state.services.notifications.preview(&caller, id).await?;
    Ok(success(json!({})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct SubmitBody {
    #[schema(value_type = String, required = true)]
    reason: Option<String>,
}

/// `POST /notifications/:notification_id/submit_approve {"reason"}`
pub async fn submit_approve(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::SubmitApproveNotification)
        .await?;
    let id = path_id(path)?;
    let req: SubmitBody = parse_body(body)?;
    let reason = required(req.reason, "reason")?;
    let has_access = state.services.notifications.submit(&caller, id, reason).await?;
    Ok(success(SubmitApproveData { has_access }))
}

/// `POST /notifications/:notification_id/cancel_approve`
pub async fn cancel_approve(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CancelApproveNotification)
        .await?;
    let id = path_id(path)?;
    state.services.notifications.cancel_approval(&caller, id).await?;
    Ok(success(json!({})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ExecuteSendBody {
    /// Milliseconds since the epoch, as a string (a number is accepted too).
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[0-9]{1,13}$")]
    send_at: Value,
}

/// `POST /notifications/:notification_id/execute_send {"send_at": "<ms>"}` (a number is
/// accepted too).
pub async fn execute_send(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::ExecuteSendNotification)
        .await?;
    let id = path_id(path)?;
    let req: ExecuteSendBody = parse_body(body)?;
    let send_at = match &req.send_at {
        Value::Null => return Err(ApiError::bad_request().with_message("send_at is required")),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|ms| *ms >= 0)
    .ok_or_else(|| ApiError::bad_request().with_message("send_at must be a millisecond timestamp string"))?;
    state
        .services
        .notifications
        .execute_send(&caller, id, send_at)
        .await?;
    Ok(success(json!({})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CancelSendBody {
    #[schema(value_type = bool, required = true)]
    is_recall: Option<bool>,
}

/// `POST /notifications/:notification_id/cancel_send {"is_recall": bool}`
pub async fn cancel_send(
    State(state): State<SharedState>,
    headers: CallerHeaders,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let caller = state
        .auth
        .helpdesk_caller(&headers, Endpoint::CancelSendNotification)
        .await?;
    let id = path_id(path)?;
    let req: CancelSendBody = parse_body(body)?;
    let recall = required(req.is_recall, "is_recall")?;
    state
        .services
        .notifications
        .cancel_send(&caller, id, recall)
        .await?;
    Ok(success(json!({})))
}
