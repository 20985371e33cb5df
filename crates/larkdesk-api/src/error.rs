//! One error type for every Feishu-compatible endpoint. The Feishu `code` travels separately from
//! the HTTP status, because Feishu pairs them freely (gateway errors on 400, helpdesk errors on
//! 401/404, token-endpoint errors on 200).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use larkdesk_store::StoreError;
use larkdesk_wire::envelope::{ErrorBody, ErrorDetail, PermissionViolation, troubleshooter};

use crate::logid;

/// Feishu codes used by larkdesk.
pub mod code {
    /// Feishu's older "param is invalis" code, documented for `PATCH /agents/:agent_id`.
    pub const INVALID_PARAM: i64 = 150001;
    pub const BAD_REQUEST: i64 = 154000;
    pub const UNAUTHORIZED: i64 = 154001;
    pub const FORBIDDEN: i64 = 154003;
    pub const NOT_FOUND: i64 = 154004;
    pub const METHOD_FORBIDDEN: i64 = 154005;
    pub const INTERNAL: i64 = 155000;
    pub const RATE_LIMITED: i64 = 99991400;
    pub const MISSING_TOKEN: i64 = 99991661;
    pub const INVALID_TOKEN: i64 = 99991663;
    /// A user access token that is not valid (or has expired).
    pub const INVALID_USER_TOKEN: i64 = 99991668;
    pub const SCOPE_REQUIRED: i64 = 99991672;
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: String,
    /// Extra detail for the caller (`error.message`).
    pub message: Option<String>,
    pub permission_violations: Vec<PermissionViolation>,
    /// Extra response headers (rate-limit headers).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
            message: None,
            permission_violations: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn bad_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "Bad request, please check your request body",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHORIZED,
            "Unauthorized, please check you have the correct access",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "Please check you have the correct access",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "Resource not found")
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "Internal error",
        )
    }

    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::MISSING_TOKEN,
            "Missing access token for authorization. Please make a request with token attached.",
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_TOKEN,
            "Invalid access token for authorization. Please make a request with token attached.",
        )
    }

    /// A `u-` (or `eyJ…`) token that is not valid: Feishu's user-token code, not the tenant one.
    pub fn invalid_user_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_USER_TOKEN,
            "Invalid access token for authorization. Please make a request with token attached.",
        )
    }

    pub fn scope_required(scopes: &[&str]) -> Self {
        let mut err = Self::new(
            StatusCode::BAD_REQUEST,
            code::SCOPE_REQUIRED,
            format!(
                "Access denied. One of the following scopes is required: [{}].应用尚未开通所需的应用身份权限：[{}]",
                scopes.join(", "),
                scopes.join(", ")
            ),
        );
        err.permission_violations = scopes
            .iter()
            .map(|s| PermissionViolation {
                kind: "action_scope_required".into(),
                subject: (*s).to_owned(),
                description: format!("The app needs one of the listed scopes, for example {s}"),
            })
            .collect();
        err
    }

    pub fn rate_limited(limit: u32, reset_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            "request trigger frequency limit",
        );
        err.headers = vec![
            ("x-ogw-ratelimit-limit", limit.to_string()),
            ("x-ogw-ratelimit-reset", reset_secs.to_string()),
        ];
        err
    }
}

/// The one place a use case's refusal becomes Feishu's HTTP status and code.
impl From<larkdesk_service::Error> for ApiError {
    fn from(err: larkdesk_service::Error) -> Self {
        use larkdesk_service::Error;
        match err {
            Error::NotFound => Self::not_found(),
            Error::Missing(what) => Self::not_found().with_message(what),
            Error::Invalid(why) | Error::Conflict(why) => Self::bad_request().with_message(why),
            Error::InvalidParam(why) => {
                Self::new(StatusCode::BAD_REQUEST, code::INVALID_PARAM, "param is invalis").with_message(why)
            }
            Error::Lifecycle(refused) => Self::bad_request().with_message(refused.to_string()),
            Error::Forbidden(why) => Self::forbidden().with_message(why),
            Error::MethodForbidden(why) => Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                code::METHOD_FORBIDDEN,
                "Method Forbidden",
            )
            .with_message(why),
            Error::Storage(StoreError::Corrupt(what)) => {
                tracing::error!(error = %what, "stored data failed to decode");
                Self::internal()
            }
            Error::Storage(e) => {
                tracing::error!(error = %e, "database error");
                Self::internal()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        larkdesk_service::Error::from(err).into()
    }
}

tokio::task_local! {
    /// `true` while serving larkdesk's own admin API (`/larkdesk/admin/v1/...`): its errors omit
    /// Feishu's `troubleshooter` link, which would send readers to Feishu's docs (README, "Admin API").
    pub(crate) static ADMIN_REQUEST: bool;
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::metrics::note_code(self.code);
        let log_id = logid::current();
        let admin = ADMIN_REQUEST.try_with(|admin| *admin).unwrap_or(false);
        let body = ErrorBody {
            code: self.code,
            msg: self.msg,
            error: ErrorDetail {
                troubleshooter: (!admin).then(|| troubleshooter(&log_id, self.code)),
                log_id,
                message: self.message,
                permission_violations: self.permission_violations,
            },
        };
        let mut response = crate::json::respond(self.status, &body);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
