//! Shared server state.

use std::sync::Arc;

use larkdesk_domain::token::TokenSigner;
use larkdesk_store::Store;
use rand::Rng;

use crate::clock::Clock;
use crate::ratelimit::RateLimits;

/// Name of the installation's token signing key in `server_secrets`.
pub const SIGNING_KEY: &str = "token_signing_key";
/// Name of the admin token digest in `server_secrets`.
pub const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub signer: TokenSigner,
    pub limits: RateLimits,
    pub clock: Clock,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Build the state, loading (or, on a new database, creating) the signing key every instance
    /// on this database shares.
    pub async fn new(store: Arc<dyn Store>, limits: RateLimits, clock: Clock) -> anyhow::Result<SharedState> {
        let mut fresh = [0u8; 32];
        rand::rng().fill(&mut fresh);
        let key = store.secret_or_init(SIGNING_KEY, fresh.to_vec()).await?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| anyhow::anyhow!("stored {SIGNING_KEY} is not 32 bytes"))?;
        Ok(Arc::new(Self {
            store,
            signer: TokenSigner::new(key),
            limits,
            clock,
        }))
    }
}
