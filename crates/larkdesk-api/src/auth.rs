//! Caller authentication for helpdesk endpoints: the tenant access token (`Authorization`), the
//! app's type and scopes, the per-app rate limit, then the helpdesk credential
//! (`X-Lark-Helpdesk-Authorization`). The order mirrors Feishu: gateway checks first, helpdesk
//! checks after.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use larkdesk_domain::ids::{AppRowId, UserRowId};
use larkdesk_domain::token::{TokenError, TokenKind};
use larkdesk_service::tokens::Tokens;
use larkdesk_service::{Caller, Clock};
use larkdesk_store::prelude::*;
use larkdesk_store::{App, AppType, Helpdesk, StoreError, UserRecord};

use crate::endpoints::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::memo::Memo;
use crate::ratelimit::RateLimits;
use crate::verified_credentials::VerifiedCredentials;

pub const HELPDESK_HEADER: &str = "x-lark-helpdesk-authorization";

/// Longest helpdesk header we bother to decode; real ones are under 100 bytes.
const MAX_HELPDESK_HEADER: usize = 1024;

/// The two credential headers of a request. Handlers extract these instead of a `HeaderMap`,
/// which axum clones whole for every request (with its drop, ~1,000 instructions of a GET).
#[derive(Debug, Default)]
pub struct CallerHeaders {
    authorization: Option<HeaderValue>,
    helpdesk: Option<HeaderValue>,
}

impl CallerHeaders {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            authorization: headers.get(header::AUTHORIZATION).cloned(),
            helpdesk: headers.get(HELPDESK_HEADER).cloned(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallerHeaders {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// The bearer token of `Authorization: Bearer <token>`; `None` when missing or not a bearer.
fn bearer(headers: &CallerHeaders) -> Option<&str> {
    let value = headers.authorization.as_ref()?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Decode `base64(helpdesk_id:helpdesk_token)`, with or without a `Bearer ` prefix (the Node SDK
/// adds one, the others do not).
pub fn parse_helpdesk_credential(raw: &[u8]) -> Option<(String, String)> {
    if raw.len() > MAX_HELPDESK_HEADER {
        return None;
    }
    let value = std::str::from_utf8(raw).ok()?.trim();
    let encoded = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, token) = text.split_once(':')?;
    (!id.is_empty() && !token.is_empty()).then(|| (id.to_owned(), token.to_owned()))
}

/// How long another instance's change to an app or helpdesk may go unseen.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(1);
/// Most apps, and most helpdesks, kept in memory at once.
pub const MAX_CACHED_CREDENTIALS: usize = 10_000;

/// Who is calling: tokens, apps, helpdesks and rate limits.
pub struct Auth {
    store: Arc<dyn Store>,
    tokens: Tokens,
    clock: Clock,
    limits: RateLimits,
    /// Apps and helpdesks as the auth path last read them: every authenticated request needs
    /// both, and they change rarely. Entries live for [`CREDENTIAL_CACHE_TTL`]; changes made
    /// through this instance clear them at once, other instances see them within the TTL.
    /// Concurrent misses of one app or helpdesk wait for a single read (see [`Memo`]).
    apps: Memo<AppRowId, (Instant, Arc<App>)>,
    helpdesks: Memo<String, (Instant, Arc<Helpdesk>)>,
    /// Tokens and helpdesk headers already verified (see [`VerifiedCredentials`]).
    verified: VerifiedCredentials,
}

fn fresh<T>(entry: &(Instant, T)) -> bool {
    entry.0.elapsed() < CREDENTIAL_CACHE_TTL
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, tokens: Tokens, clock: Clock, limits: RateLimits) -> Self {
        Self {
            store,
            tokens,
            clock,
            limits,
            apps: Memo::new(MAX_CACHED_CREDENTIALS),
            helpdesks: Memo::new(MAX_CACHED_CREDENTIALS),
            verified: VerifiedCredentials::new(),
        }
    }

    /// An app by storage id, from the cache when fresh.
    async fn app(&self, id: AppRowId) -> Result<Arc<App>, StoreError> {
        let read =
            async { Ok::<_, StoreError>((Instant::now(), Arc::new(self.store.app_by_row_id(id).await?))) };
        let (_, app) = self.apps.get_or_load(&id, fresh, read, |_| true).await?;
        Ok(app)
    }

    /// A helpdesk by public id, from the cache when fresh. Unknown ids are not cached.
    async fn helpdesk(&self, helpdesk_id: &str) -> Result<Arc<Helpdesk>, StoreError> {
        let read = async {
            let helpdesk = self.store.helpdesk_by_public_id(helpdesk_id).await?;
            Ok::<_, StoreError>((Instant::now(), Arc::new(helpdesk)))
        };
        let (_, helpdesk) = self
            .helpdesks
            .get_or_load(helpdesk_id, fresh, read, |_| true)
            .await?;
        Ok(helpdesk)
    }

    /// Forget cached apps and helpdesks (after changing their scopes or credentials).
    /// The rate limits (readiness asks their Redis).
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    pub fn forget_credentials(&self) {
        self.apps.clear();
        self.helpdesks.clear();
    }

    /// The `app_id` of the app a request's bearer token belongs to, if it is a valid token (for
    /// the request journal).
    pub async fn app_id_of(&self, headers: &HeaderMap) -> Option<String> {
        let headers = CallerHeaders::from_headers(headers);
        bearer(&headers)?;
        let (app, _) = self.token_caller(&headers).await.ok()?;
        Some(app.app_id.clone())
    }

    /// The app behind a tenant access token, or the app and user behind a user access token.
    pub async fn token_caller(&self, headers: &CallerHeaders) -> ApiResult<(Arc<App>, Option<UserRecord>)> {
        let token = bearer(headers).ok_or_else(ApiError::missing_token)?;
        // A token that looks like a user token (`u-…`, or the `eyJ…` of Feishu's newer user
        // tokens) is refused with the user-token code, anything else with the tenant one.
        let (kind, invalid): (_, fn() -> ApiError) = if token.starts_with("u-") || token.starts_with("eyJ") {
            (TokenKind::User, ApiError::invalid_user_token)
        } else {
            (TokenKind::Tenant, ApiError::invalid_token)
        };
        let claims = self
            .verified
            .verify_token(self.tokens.signer(), kind, token, self.clock.now_secs())
            .map_err(|e| match e {
                TokenError::Invalid | TokenError::Expired => invalid(),
            })?;
        let app = match self.app(AppRowId(claims.app_row_id)).await {
            Ok(app) => app,
            Err(StoreError::NotFound) => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        if kind == TokenKind::Tenant {
            return Ok((app, None));
        }
        match self.store.user_by_row_id(UserRowId(claims.subject)).await {
            Ok(user) if user.tenant_id == app.tenant_id => Ok((app, Some(user))),
            Ok(_) | Err(StoreError::NotFound) => Err(invalid()),
            Err(e) => Err(e.into()),
        }
    }

    /// Authenticate a call to a helpdesk endpoint: any one of its scopes (from the endpoint
    /// table), within its rate limit. Tenant and user access tokens are both accepted everywhere
    /// (the SDKs disagree on which endpoints take which; the Node SDK sends tenant tokens even to
    /// user-token endpoints).
    pub async fn helpdesk_caller(&self, headers: &CallerHeaders, endpoint: Endpoint) -> ApiResult<Caller> {
        crate::metrics::note_endpoint(endpoint);
        let scopes = endpoint.spec().scopes;
        let (app, user) = self.token_caller(headers).await?;
        if app.app_type != AppType::Custom {
            return Err(ApiError::forbidden().with_message("this API supports custom (self-built) apps only"));
        }
        if !larkdesk_domain::scopes::satisfies(&app.scopes, scopes) {
            return Err(ApiError::scope_required(scopes));
        }
        self.limits.check(endpoint, &app.app_id, app.tenant_id.0).await?;

        let raw = headers
            .helpdesk
            .as_ref()
            .ok_or_else(ApiError::unauthorized)?
            .as_bytes();
        let helpdesk = self.helpdesk_for_header(raw).await?;
        if helpdesk.tenant_id != app.tenant_id {
            return Err(ApiError::unauthorized());
        }
        Ok(Caller { app, helpdesk, user })
    }

    /// The helpdesk whose id and token `X-Lark-Helpdesk-Authorization` carries.
    async fn helpdesk_for_header(&self, raw: &[u8]) -> ApiResult<Arc<Helpdesk>> {
        let lookup = async |helpdesk_id: &str| match self.helpdesk(helpdesk_id).await {
            Ok(h) => Ok(h),
            Err(StoreError::NotFound) => Err(ApiError::unauthorized()),
            Err(e) => Err(ApiError::from(e)),
        };
        if let Some(known) = self.verified.helpdesk_header(raw) {
            let helpdesk = lookup(&known.helpdesk_id).await?;
            if helpdesk.token_hash.same_as(&known.token_hash) {
                return Ok(helpdesk);
            }
            // The token was rotated since: check the header afresh (it will fail).
        }
        let (helpdesk_id, helpdesk_token) =
            parse_helpdesk_credential(raw).ok_or_else(ApiError::unauthorized)?;
        let helpdesk = lookup(&helpdesk_id).await?;
        if !helpdesk.token_hash.matches(&helpdesk_token) {
            return Err(ApiError::unauthorized());
        }
        self.verified
            .remember_helpdesk_header(raw, &helpdesk_id, &helpdesk.token_hash);
        Ok(helpdesk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn helpdesk_credential_with_and_without_bearer() {
        let raw = b64("123:ht-abc");
        let want = Some(("123".to_owned(), "ht-abc".to_owned()));
        assert_eq!(parse_helpdesk_credential(raw.as_bytes()), want);
        assert_eq!(
            parse_helpdesk_credential(format!("Bearer {raw}").as_bytes()),
            want
        );
        assert_eq!(
            parse_helpdesk_credential(format!("bearer  {raw} ").as_bytes()),
            want
        );
        assert_eq!(
            parse_helpdesk_credential(raw.trim_end_matches('=').as_bytes()),
            want
        );
        // Only the first colon splits: tokens may contain colons.
        assert_eq!(
            parse_helpdesk_credential(b64("1:a:b").as_bytes()),
            Some(("1".to_owned(), "a:b".to_owned()))
        );
    }

    #[test]
    fn garbage_helpdesk_credentials_are_rejected() {
        for bad in [
            b"".to_vec(),
            b"%%%".to_vec(),
            b64("no-colon").into_bytes(),
            b64(":token").into_bytes(),
            b64("id:").into_bytes(),
            format!("Basic {}", b64("1:2")).into_bytes(),
            vec![0xff, 0xfe, 0x00],
            STANDARD.encode([0xff, b':', 0xfe]).into_bytes(),
            vec![b'A'; 100_000],
        ] {
            assert_eq!(parse_helpdesk_credential(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        let token = |headers: &HeaderMap| bearer(&CallerHeaders::from_headers(headers)).map(str::to_owned);
        assert_eq!(token(&headers), None);
        headers.insert("authorization", "t-abc".parse().unwrap());
        assert_eq!(token(&headers), None);
        headers.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(token(&headers), None);
        headers.insert("authorization", "Bearer t-abc".parse().unwrap());
        assert_eq!(token(&headers).as_deref(), Some("t-abc"));
        headers.insert(HELPDESK_HEADER, "x".parse().unwrap());
        let both = CallerHeaders::from_headers(&headers);
        assert_eq!(both.helpdesk.as_ref().map(HeaderValue::as_bytes), Some(&b"x"[..]));
    }
}
