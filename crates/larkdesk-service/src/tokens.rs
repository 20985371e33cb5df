//! Access tokens: checking app credentials, and minting tokens signed with the installation's
//! key. The same token is handed out again until less than 30 minutes of it remain.

use std::sync::Arc;

use larkdesk_domain::ids::{AppRowId, UserRowId};
use larkdesk_domain::token::{TokenClaims, TokenKind, TokenSigner};
use larkdesk_store::StoreError;
use larkdesk_store::prelude::*;
use rand::Rng;

use crate::{Clock, Result};

/// Name of the installation's token signing key in `server_secrets`.
const SIGNING_KEY: &str = "token_signing_key";

/// Why app credentials were refused (Feishu's token endpoint answers each with its own code).
#[derive(Debug, PartialEq, Eq)]
pub enum CredentialsRefused {
    /// The app is unknown.
    UnknownApp,
    /// The app secret is wrong.
    BadSecret,
    /// The app is not a custom (self-built) app: Feishu's `…/internal` token endpoints are for
    /// custom apps only (store apps use the app_ticket flow, which larkdesk does not emulate; the
    /// admin API mints their tokens).
    NotCustomApp,
}

#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn Store>,
    clock: Clock,
    signer: Arc<TokenSigner>,
}

impl Tokens {
    /// Load (or, on a new database, create) the signing key every instance on this database
    /// shares.
    pub async fn load(store: Arc<dyn Store>, clock: Clock) -> anyhow::Result<Self> {
        let mut fresh = [0u8; 32];
        rand::rng().fill(&mut fresh);
        let key = store.secret_or_init(SIGNING_KEY, fresh.to_vec()).await?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| anyhow::anyhow!("stored {SIGNING_KEY} is not 32 bytes"))?;
        Ok(Self {
            store,
            clock,
            signer: Arc::new(TokenSigner::new(key)),
        })
    }

    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// Check a custom app's credentials (the `…/internal` endpoints) and return `(token, expire)`
    /// of the `kind` asked for.
    pub async fn issue(
        &self,
        kind: TokenKind,
        app_id: &str,
        app_secret: &str,
    ) -> Result<std::result::Result<(String, i64), CredentialsRefused>> {
        let app = match self.store.app_by_app_id(app_id).await {
            Ok(app) => app,
            Err(StoreError::NotFound) => return Ok(Err(CredentialsRefused::UnknownApp)),
            Err(e) => return Err(e.into()),
        };
        if !app.secret_hash.matches(app_secret) {
            return Ok(Err(CredentialsRefused::BadSecret));
        }
        if app.app_type != larkdesk_store::AppType::Custom {
            return Ok(Err(CredentialsRefused::NotCustomApp));
        }
        Ok(Ok(self.mint(kind, app.id, None).await?))
    }

    /// The current token of an app (and user, for user tokens) if it has 30 minutes or more
    /// left, otherwise a new one: `(token, expire)`.
    pub async fn mint(
        &self,
        kind: TokenKind,
        app: AppRowId,
        user: Option<UserRowId>,
    ) -> Result<(String, i64)> {
        let now = self.clock.now_secs();
        let subject = user.map_or(0, |u| u.0);
        let key = match kind {
            TokenKind::Tenant => "tenant".to_owned(),
            TokenKind::App => "app".to_owned(),
            TokenKind::User => format!("user:{subject}"),
        };
        if let Some((issued_at, expires_at)) = self.store.current_token(app, &key).await? {
            let current = TokenClaims {
                kind,
                app_row_id: app.0,
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
            ..TokenClaims::new(kind, app.0, now)
        };
        self.store
            .record_token(app, &key, fresh.issued_at, fresh.expires_at)
            .await?;
        Ok((self.signer.sign(&fresh), fresh.remaining(now)))
    }
}
