//! `POST /open-apis/auth/v3/{tenant,app}_access_token/internal`.
//!
//! Success bodies are top-level (no `data`), failures are HTTP 200 with a non-zero code, as on
//! Feishu. The same token is handed out again until less than 30 minutes of it remain.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use larkdesk_domain::token::TokenKind;
use larkdesk_service::tokens::CredentialsRefused;
use larkdesk_wire::auth::{
    AppAccessTokenResponse, InternalTokenRequest, TenantAccessTokenResponse, TokenErrorResponse,
};

use crate::json::respond;
use crate::state::{AppState, SharedState};

/// Token endpoint failures, with Feishu's codes.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenFailure {
    /// 10003: body unparsable, fields missing, app unknown, or not a custom app.
    InvalidParam(&'static str),
    /// 10014: wrong app secret.
    BadSecret,
    Internal,
}

impl TokenFailure {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            Self::InvalidParam(why) => (10003, format!("invalid param: {why}")),
            Self::BadSecret => (10014, "app secret invalid".to_owned()),
            Self::Internal => (155000, "Internal error".to_owned()),
        };
        crate::metrics::note_code(code);
        respond(
            StatusCode::OK,
            &TokenErrorResponse {
                code,
                msg,
                data: Default::default(),
            },
        )
    }
}

/// Check the app credentials in a token request and return `(token, expire)`.
async fn issue(
    state: &AppState,
    kind: TokenKind,
    body: Result<Bytes, BytesRejection>,
) -> Result<(String, i64), TokenFailure> {
    let body = body.map_err(|_| TokenFailure::InvalidParam("unreadable body"))?;
    let request: InternalTokenRequest =
        serde_json::from_slice(&body).map_err(|_| TokenFailure::InvalidParam("body is not JSON"))?;
    let (Some(app_id), Some(app_secret)) = (request.app_id, request.app_secret) else {
        return Err(TokenFailure::InvalidParam("app_id and app_secret are required"));
    };
    match state.tokens.issue(kind, &app_id, &app_secret).await {
        Ok(Ok(issued)) => Ok(issued),
        Ok(Err(CredentialsRefused::UnknownApp)) => Err(TokenFailure::InvalidParam("unknown app_id")),
        Ok(Err(CredentialsRefused::BadSecret)) => Err(TokenFailure::BadSecret),
        Ok(Err(CredentialsRefused::NotCustomApp)) => Err(TokenFailure::InvalidParam(
            "this endpoint is for custom (self-built) apps only",
        )),
        Err(e) => {
            tracing::error!(error = %e, "token issue failed");
            Err(TokenFailure::Internal)
        }
    }
}

pub async fn tenant_access_token(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    crate::metrics::note_endpoint(crate::endpoints::Endpoint::TenantAccessToken);
    match issue(&state, TokenKind::Tenant, body).await {
        Ok((tenant_access_token, expire)) => respond(
            StatusCode::OK,
            &TenantAccessTokenResponse {
                code: 0,
                msg: "ok",
                tenant_access_token,
                expire,
            },
        ),
        Err(failure) => failure.into_response(),
    }
}

pub async fn app_access_token(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    crate::metrics::note_endpoint(crate::endpoints::Endpoint::AppAccessToken);
    match issue(&state, TokenKind::App, body).await {
        Ok((app_access_token, expire)) => respond(
            StatusCode::OK,
            &AppAccessTokenResponse {
                code: 0,
                msg: "ok",
                app_access_token,
                expire,
            },
        ),
        Err(failure) => failure.into_response(),
    }
}
