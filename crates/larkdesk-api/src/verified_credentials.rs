//! A memo of credentials this instance has already verified, so a client that repeats the same
//! token and helpdesk header (every SDK does, for two hours) is not re-hashed on each request.
//!
//! What is remembered never widens what is accepted:
//! - an access token's claims are a pure function of the token and the installation key, and
//!   expiry is still checked on every request against the current clock;
//! - a helpdesk header is remembered together with the stored token digest it matched, and a
//!   hit only counts while the helpdesk (read through the usual 1 s credential cache) still has
//!   that digest, so a rotated token stops working exactly as fast as without the memo.
//!
//! Entries are found by a randomly seeded 64-bit hash of the presented value (foldhash: a few
//! dozen instructions where SipHash took ~400 for a token), and the presented value is then
//! compared with the remembered one in constant time, so the memo compares secrets the same way
//! the rest of larkdesk does. A hash collision only costs a full check, and only verified
//! credentials are remembered, so the keys are not the caller's to choose.
//!
//! The memo is a plain concurrent map (a cache crate's bookkeeping cost more than the hashing
//! it saves); when it reaches [`MAX_ENTRIES`] it starts over, which costs one full check per
//! client.

use std::hash::BuildHasher;
use std::sync::Arc;

use dashmap::DashMap;

use constant_time_eq::constant_time_eq;
use foldhash::fast::RandomState;
use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::token::{TokenClaims, TokenError, TokenKind, TokenSigner};

/// Most tokens and helpdesk headers remembered at once (each entry is under 200 bytes).
pub const MAX_ENTRIES: usize = 10_000;

struct VerifiedToken {
    token: Box<str>,
    claims: TokenClaims,
}

/// A helpdesk header that carried the right token for `helpdesk_id` when its digest was
/// `token_hash`.
pub struct VerifiedHelpdeskHeader {
    raw: Box<[u8]>,
    pub helpdesk_id: Box<str>,
    pub token_hash: SecretHash,
}

pub struct VerifiedCredentials {
    hasher: RandomState,
    tokens: DashMap<u64, Arc<VerifiedToken>, RandomState>,
    helpdesk_headers: DashMap<u64, Arc<VerifiedHelpdeskHeader>, RandomState>,
}

impl Default for VerifiedCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl VerifiedCredentials {
    pub fn new() -> Self {
        Self {
            hasher: RandomState::default(),
            tokens: DashMap::with_hasher(RandomState::default()),
            helpdesk_headers: DashMap::with_hasher(RandomState::default()),
        }
    }

    /// [`TokenSigner::verify`], skipping the MAC for a token verified before.
    pub fn verify_token(
        &self,
        signer: &TokenSigner,
        kind: TokenKind,
        token: &str,
        now: i64,
    ) -> Result<TokenClaims, TokenError> {
        let key = self.hasher.hash_one(token.as_bytes());
        if let Some(known) = self.tokens.get(&key).map(|k| Arc::clone(&k))
            && known.claims.kind == kind
            && constant_time_eq(known.token.as_bytes(), token.as_bytes())
        {
            return if now >= known.claims.expires_at {
                Err(TokenError::Expired)
            } else {
                Ok(known.claims)
            };
        }
        let claims = signer.verify(kind, token, now)?;
        remember(
            &self.tokens,
            key,
            Arc::new(VerifiedToken {
                token: token.into(),
                claims,
            }),
        );
        Ok(claims)
    }

    /// A helpdesk header verified before: its helpdesk id and the token digest it matched. The
    /// caller must still check that the helpdesk's current digest is that one.
    pub fn helpdesk_header(&self, raw: &[u8]) -> Option<Arc<VerifiedHelpdeskHeader>> {
        let known = self
            .helpdesk_headers
            .get(&self.hasher.hash_one(raw))
            .map(|k| Arc::clone(&k))?;
        constant_time_eq(&known.raw, raw).then_some(known)
    }

    /// Remember that `raw` carried the right token for `helpdesk_id`, whose digest is `token_hash`.
    pub fn remember_helpdesk_header(&self, raw: &[u8], helpdesk_id: &str, token_hash: &SecretHash) {
        remember(
            &self.helpdesk_headers,
            self.hasher.hash_one(raw),
            Arc::new(VerifiedHelpdeskHeader {
                raw: raw.into(),
                helpdesk_id: helpdesk_id.into(),
                token_hash: token_hash.clone(),
            }),
        );
    }
}

fn remember<V>(map: &DashMap<u64, V, RandomState>, key: u64, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_token_still_expires_and_keeps_its_kind() {
        let signer = TokenSigner::new([3u8; 32]);
        let memo = VerifiedCredentials::new();
        let claims = TokenClaims::new(TokenKind::Tenant, 7, 1_000);
        let token = signer.sign(&claims);
        assert_eq!(
            memo.verify_token(&signer, TokenKind::Tenant, &token, 1_001),
            Ok(claims)
        );
        assert_eq!(
            memo.verify_token(&signer, TokenKind::Tenant, &token, 1_002),
            Ok(claims)
        );
        assert_eq!(
            memo.verify_token(&signer, TokenKind::Tenant, &token, 1_000 + 7200),
            Err(TokenError::Expired)
        );
        assert_eq!(
            memo.verify_token(&signer, TokenKind::User, &token, 1_002),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_not_accepted_through_the_memo() {
        let signer = TokenSigner::new([3u8; 32]);
        let memo = VerifiedCredentials::new();
        let token = TokenSigner::new([4u8; 32]).sign(&TokenClaims::new(TokenKind::Tenant, 7, 1_000));
        for _ in 0..2 {
            assert_eq!(
                memo.verify_token(&signer, TokenKind::Tenant, &token, 1_001),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn helpdesk_headers_are_remembered_with_their_digest() {
        let memo = VerifiedCredentials::new();
        let digest = SecretHash::of("ht-secret");
        assert!(memo.helpdesk_header(b"abc").is_none());
        memo.remember_helpdesk_header(b"abc", "123", &digest);
        let known = memo.helpdesk_header(b"abc").expect("remembered");
        assert_eq!(&*known.helpdesk_id, "123");
        assert!(known.token_hash.same_as(&digest));
        assert!(memo.helpdesk_header(b"abd").is_none());
    }

    #[test]
    fn the_memo_stays_bounded() {
        let memo = VerifiedCredentials::new();
        let digest = SecretHash::of("ht-secret");
        for i in 0..MAX_ENTRIES + 10 {
            memo.remember_helpdesk_header(i.to_string().as_bytes(), "1", &digest);
        }
        assert!(memo.helpdesk_headers.len() <= MAX_ENTRIES);
        assert!(
            memo.helpdesk_header((MAX_ENTRIES + 9).to_string().as_bytes())
                .is_some()
        );
    }
}
