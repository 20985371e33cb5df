//! `POST /open-apis/auth/v3/{tenant,app}_access_token/internal`.
//!
//! Success bodies are top-level (no `data`), failures are HTTP 200 with a non-zero code, as on
//! Feishu. The same token is handed out again until less than 30 minutes of it remain.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use larkdesk_domain::token::{TokenClaims, TokenKind};
use larkdesk_store::StoreError;
use larkdesk_wire::auth::{
    AppAccessTokenResponse, InternalTokenRequest, TenantAccessTokenResponse, TokenErrorResponse,
};

use crate::json::respond;
use crate::state::{AppState, SharedState};

/// Token endpoint failures, with Feishu's codes.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenFailure {
    /// 10003: body unparsable, fields missing, or app unknown.
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

/// The key under which the current token of an app (and, for user tokens, a user) is tracked.
fn bookkeeping_key(kind: TokenKind, subject: i64) -> String {
    match kind {
        TokenKind::Tenant => "tenant".to_owned(),
        TokenKind::App => "app".to_owned(),
        TokenKind::User => format!("user:{subject}"),
    }
}

impl AppState {
    /// Check app credentials and return `(token, expire)`.
    pub async fn issue_token(
        &self,
        kind: TokenKind,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<(String, i64), TokenFailure> {
        let body = body.map_err(|_| TokenFailure::InvalidParam("unreadable body"))?;
        let request: InternalTokenRequest =
            serde_json::from_slice(&body).map_err(|_| TokenFailure::InvalidParam("body is not JSON"))?;
        let (Some(app_id), Some(app_secret)) = (request.app_id, request.app_secret) else {
            return Err(TokenFailure::InvalidParam("app_id and app_secret are required"));
        };
        let app = match self.store.app_by_app_id(&app_id).await {
            Ok(app) => app,
            Err(StoreError::NotFound) => return Err(TokenFailure::InvalidParam("unknown app_id")),
            Err(e) => {
                tracing::error!(error = %e, "token issue: app lookup failed");
                return Err(TokenFailure::Internal);
            }
        };
        if !app.secret_hash.matches(&app_secret) {
            return Err(TokenFailure::BadSecret);
        }
        self.mint_token(kind, app.id, 0).await.map_err(|e| {
            tracing::error!(error = %e, "token issue failed");
            TokenFailure::Internal
        })
    }

    /// The current token of an app (and user, for user tokens; `subject` is the user's row id)
    /// if it has 30 minutes or more left, otherwise a new one.
    pub async fn mint_token(
        &self,
        kind: TokenKind,
        app_row_id: i64,
        subject: i64,
    ) -> Result<(String, i64), StoreError> {
        let now = self.clock.now_secs();
        let key = bookkeeping_key(kind, subject);
        if let Some((issued_at, expires_at)) = self.store.current_token(app_row_id, &key).await? {
            let current = TokenClaims {
                kind,
                app_row_id,
                subject,
                issued_at,
                expires_at,
            };
            if issued_at <= now && current.reusable(now) {
                return Ok((self.signer.sign(&current), current.remaining(now)));
            }
        }
        let fresh = TokenClaims {
            subject,
            ..TokenClaims::new(kind, app_row_id, now)
        };
        self.store
            .record_token(app_row_id, &key, fresh.issued_at, fresh.expires_at)
            .await?;
        Ok((self.signer.sign(&fresh), fresh.remaining(now)))
    }
}

pub async fn tenant_access_token(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match state.issue_token(TokenKind::Tenant, body).await {
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
    match state.issue_token(TokenKind::App, body).await {
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
