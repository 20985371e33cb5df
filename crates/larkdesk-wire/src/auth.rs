//! `/open-apis/auth/v3/*` bodies. These are not wrapped in `data`.

use serde::{Deserialize, Serialize};

/// Body of `tenant_access_token/internal` and `app_access_token/internal`.
/// Both fields are optional at the serde level so a missing field becomes our own
/// "invalid param" answer rather than a parse failure.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct InternalTokenRequest {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub app_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantAccessTokenResponse {
    pub code: i64,
    pub msg: &'static str,
    pub tenant_access_token: String,
    pub expire: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppAccessTokenResponse {
    pub code: i64,
    pub msg: &'static str,
    pub app_access_token: String,
    pub expire: i64,
}

/// Token endpoint failures are HTTP 200 with a non-zero code and an empty `data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenErrorResponse {
    pub code: i64,
    pub msg: String,
    /// Always `{}`.
    #[schema(value_type = Object)]
    pub data: serde_json::Map<String, serde_json::Value>,
}
