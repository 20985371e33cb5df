//! The two response envelopes: `{code:0,msg,data}` on success and `{code,msg,error:{log_id,…}}` on error.

use serde::Serialize;

/// A successful helpdesk response. Helpdesk pages answer `"msg":"success"`.
#[derive(Debug, Serialize)]
pub struct Success<T> {
    pub code: i64,
    pub msg: &'static str,
    pub data: T,
}

impl<T> Success<T> {
    pub fn new(data: T) -> Self {
        Self {
            code: 0,
            msg: "success",
            data,
        }
    }
}

/// An error response body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: i64,
    pub msg: String,
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub log_id: String,
    /// Feishu's troubleshooting link; `None` (omitted) on errors of larkdesk's own admin API,
    /// whose codes Feishu's docs do not describe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub troubleshooter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permission_violations: Vec<PermissionViolation>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermissionViolation {
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub description: String,
}

/// The troubleshooting link Feishu puts in every error body.
pub fn troubleshooter(log_id: &str, code: i64) -> String {
    format!(
        "排查建议查看(Troubleshooting suggestions): https://open.feishu.cn/search?from=openapi&log_id={log_id}&code={code}&method_id=0"
    )
}
