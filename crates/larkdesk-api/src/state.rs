//! Shared server state.

use std::sync::Arc;

use larkdesk_domain::token::TokenSigner;
use std::time::{Duration, Instant};

use larkdesk_store::{App, Helpdesk, Store, StoreResult};
use rand::Rng;

use crate::clock::Clock;
use crate::memo::Memo;
use crate::ratelimit::RateLimits;
use crate::ticket_cache::TicketCache;
use crate::verified_credentials::VerifiedCredentials;

/// Name of the installation's token signing key in `server_secrets`.
pub const SIGNING_KEY: &str = "token_signing_key";
/// Name of the admin token digest in `server_secrets`.
pub const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub signer: TokenSigner,
    pub limits: RateLimits,
    pub clock: Clock,
    /// Apps and helpdesks as the auth path last read them: every authenticated request needs
    /// both, and they change rarely. Entries live for [`CREDENTIAL_CACHE_TTL`]; changes made
    /// through this instance clear them at once, other instances see them within the TTL.
    /// Concurrent misses of one app or helpdesk wait for a single read (see [`Memo`]).
    apps: Memo<i64, (Instant, Arc<App>)>,
    helpdesks: Memo<String, (Instant, Arc<Helpdesk>)>,
    /// Tokens and helpdesk headers already verified (see [`VerifiedCredentials`]).
    pub verified: VerifiedCredentials,
    /// Rendered `GET /tickets/:id` bodies (see [`TicketCache`]).
    pub tickets: TicketCache,
}

/// How long another instance's change to an app or helpdesk may go unseen.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(1);
/// Most apps, and most helpdesks, kept in memory at once.
pub const MAX_CACHED_CREDENTIALS: usize = 10_000;

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Build the state, loading (or, on a new database, creating) the signing key every instance
    /// on this database shares.
    pub async fn new(
        store: Arc<dyn Store>,
        limits: RateLimits,
        clock: Clock,
        ticket_cache_ttl: Duration,
    ) -> anyhow::Result<SharedState> {
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
            apps: Memo::new(MAX_CACHED_CREDENTIALS),
            helpdesks: Memo::new(MAX_CACHED_CREDENTIALS),
            verified: VerifiedCredentials::new(),
            tickets: TicketCache::new(ticket_cache_ttl),
        }))
    }

    /// An app by storage id, from the cache when fresh.
    pub async fn app(&self, row_id: i64) -> StoreResult<Arc<App>> {
        let read =
            async { StoreResult::Ok((Instant::now(), Arc::new(self.store.app_by_row_id(row_id).await?))) };
        let (_, app) = self.apps.get_or_load(&row_id, fresh, read, |_| true).await?;
        Ok(app)
    }

    /// A helpdesk by public id, from the cache when fresh. Unknown ids are not cached.
    pub async fn helpdesk(&self, helpdesk_id: &str) -> StoreResult<Arc<Helpdesk>> {
        let read = async {
            let helpdesk = self.store.helpdesk_by_public_id(helpdesk_id).await?;
            StoreResult::Ok((Instant::now(), Arc::new(helpdesk)))
        };
        let (_, helpdesk) = self
            .helpdesks
            .get_or_load(helpdesk_id, fresh, read, |_| true)
            .await?;
        Ok(helpdesk)
    }

    /// Forget cached apps and helpdesks (after changing their scopes or credentials).
    pub fn forget_credentials(&self) {
        self.apps.clear();
        self.helpdesks.clear();
    }
}

fn fresh<T>(entry: &(Instant, T)) -> bool {
    entry.0.elapsed() < CREDENTIAL_CACHE_TTL
}
