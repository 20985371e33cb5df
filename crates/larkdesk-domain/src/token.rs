//! Access tokens (`t-…` tenant, `a-…` app, `u-…` user).
//!
//! A token is self-describing and signed: `<kind>-g` + hex(payload) + hex(HMAC-SHA256(`<kind>-g` ‖
//! payload)[..16]), all hex lower-case. The MAC covers the kind, so a user token's `u-` cannot be
//! swapped for `t-`; a token is refused if any hex digit is upper-case (one token, one spelling) or
//! if its lifetime is longer than larkdesk ever issues, however well signed.
//! Any instance holding the installation's signing key (kept in the shared database) can verify a
//! token without a lookup, tokens are never revoked before they expire (as on Feishu), and
//! re-issuing "the current token" is a pure recomputation from its claims.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Lifetime of a tenant/app access token, in seconds.
pub const TOKEN_LIFETIME_SECS: i64 = 7200;
/// A new token is issued once the current one has less than this left.
pub const REISSUE_BELOW_SECS: i64 = 1800;

/// 3: the MAC covers the kind prefix (2 did not; its tokens are no longer accepted).
const VERSION: u8 = 3;
const PAYLOAD_LEN: usize = 1 + 8 + 8 + 8 + 8;
const MAC_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Tenant,
    App,
    /// A user access token: acts as one user (an agent) of the app's tenant.
    User,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Tenant => "t-g",
            Self::App => "a-g",
            Self::User => "u-g",
        }
    }
}

/// What a token asserts: which app (storage row id) it belongs to, for user tokens which user
/// (storage row id; 0 otherwise), and its validity window (unix s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub kind: TokenKind,
    pub app_row_id: i64,
    pub subject: i64,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl TokenClaims {
    pub fn new(kind: TokenKind, app_row_id: i64, now: i64) -> Self {
        Self {
            kind,
            app_row_id,
            subject: 0,
            issued_at: now,
            expires_at: now + TOKEN_LIFETIME_SECS,
        }
    }

    pub fn for_user(app_row_id: i64, user_row_id: i64, now: i64) -> Self {
        Self {
            subject: user_row_id,
            ..Self::new(TokenKind::User, app_row_id, now)
        }
    }

    /// Seconds left, as reported in `expire`.
    pub fn remaining(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }

    /// Should the token endpoint hand out this token again, or mint a new one?
    pub fn reusable(&self, now: i64) -> bool {
        self.remaining(now) >= REISSUE_BELOW_SECS
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token we could have issued (shape, kind or signature).
    Invalid,
    Expired,
}

/// Signs and verifies tokens with the installation's 32-byte key.
#[derive(Clone)]
pub struct TokenSigner {
    /// HMAC state with the key already absorbed: cloning it skips hashing the key's two pads on
    /// every token.
    keyed: HmacSha256,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            keyed: HmacSha256::new_from_slice(&key).expect("HMAC takes any key length"),
        }
    }

    fn mac(&self, kind: TokenKind, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(kind.prefix().as_bytes());
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    pub fn sign(&self, claims: &TokenClaims) -> String {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = VERSION;
        payload[1..9].copy_from_slice(&claims.app_row_id.to_be_bytes());
        payload[9..17].copy_from_slice(&claims.subject.to_be_bytes());
        payload[17..25].copy_from_slice(&claims.issued_at.to_be_bytes());
        payload[25..33].copy_from_slice(&claims.expires_at.to_be_bytes());
        let mac = self.mac(claims.kind, &payload);
        format!(
            "{}{}{}",
            claims.kind.prefix(),
            hex::encode(payload),
            hex::encode(mac)
        )
    }

    /// Verify a presented token of the given kind at time `now` (unix seconds).
    pub fn verify(&self, kind: TokenKind, token: &str, now: i64) -> Result<TokenClaims, TokenError> {
        let body = token.strip_prefix(kind.prefix()).ok_or(TokenError::Invalid)?;
        if body.len() != 2 * (PAYLOAD_LEN + MAC_LEN)
            || !body.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(TokenError::Invalid);
        }
        let mut raw = [0u8; PAYLOAD_LEN + MAC_LEN];
        hex::decode_to_slice(body, &mut raw).map_err(|_| TokenError::Invalid)?;
        let (payload, mac) = raw.split_at(PAYLOAD_LEN);
        if !constant_time_eq::constant_time_eq(&self.mac(kind, payload), mac) || payload[0] != VERSION {
            return Err(TokenError::Invalid);
        }
        let int = |range: std::ops::Range<usize>| {
            i64::from_be_bytes(payload[range].try_into().expect("8-byte slice"))
        };
        let claims = TokenClaims {
            kind,
            app_row_id: int(1..9),
            subject: int(9..17),
            issued_at: int(17..25),
            expires_at: int(25..33),
        };
        let lifetime = claims.expires_at.checked_sub(claims.issued_at);
        if !lifetime.is_some_and(|l| (1..=TOKEN_LIFETIME_SECS).contains(&l)) {
            return Err(TokenError::Invalid);
        }
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new([7u8; 32])
    }

    #[test]
    fn round_trip() {
        let claims = TokenClaims::new(TokenKind::Tenant, 42, 1_000);
        let token = signer().sign(&claims);
        assert!(token.starts_with("t-g"));
        assert_eq!(signer().verify(TokenKind::Tenant, &token, 1_001), Ok(claims));
    }

    #[test]
    fn user_tokens_carry_their_subject_and_are_not_tenant_tokens() {
        let claims = TokenClaims::for_user(3, 99, 1_000);
        let token = signer().sign(&claims);
        assert!(token.starts_with("u-g"));
        assert_eq!(
            signer().verify(TokenKind::User, &token, 1_001).map(|c| c.subject),
            Ok(99)
        );
        assert_eq!(
            signer().verify(TokenKind::Tenant, &token, 1_001),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn signing_is_deterministic_so_reissue_returns_the_same_token() {
        let claims = TokenClaims::new(TokenKind::Tenant, 1, 5);
        assert_eq!(signer().sign(&claims), signer().sign(&claims));
    }

    #[test]
    fn expired_wrong_kind_wrong_key_and_tampered_are_rejected() {
        let claims = TokenClaims::new(TokenKind::Tenant, 42, 1_000);
        let token = signer().sign(&claims);
        assert_eq!(
            signer().verify(TokenKind::Tenant, &token, 1_000 + 7200),
            Err(TokenError::Expired)
        );
        assert_eq!(
            signer().verify(TokenKind::App, &token, 1_001),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            TokenSigner::new([8u8; 32]).verify(TokenKind::Tenant, &token, 1_001),
            Err(TokenError::Invalid)
        );
        let mut tampered = token.clone().into_bytes();
        let i = 10;
        tampered[i] = if tampered[i] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            signer().verify(TokenKind::Tenant, &tampered, 1_001),
            Err(TokenError::Invalid)
        );
        for junk in ["", "t-", "t-gzz", "Bearer x", "t-g😀😀"] {
            assert_eq!(
                signer().verify(TokenKind::Tenant, junk, 1_001),
                Err(TokenError::Invalid)
            );
        }
    }

    /// Re-sign a token's payload under another kind the way version 2 did (MAC over the payload
    /// only): such a token must not pass.
    #[test]
    fn the_kind_is_signed() {
        let signer = signer();
        let user = signer.sign(&TokenClaims::for_user(3, 99, 1_000));
        let swapped = user.replacen("u-g", "t-g", 1);
        assert_eq!(
            signer.verify(TokenKind::Tenant, &swapped, 1_001),
            Err(TokenError::Invalid)
        );
        let app = signer.sign(&TokenClaims::new(TokenKind::App, 3, 1_000));
        assert_eq!(
            signer.verify(TokenKind::Tenant, &app.replacen("a-g", "t-g", 1), 1_001),
            Err(TokenError::Invalid)
        );
        assert!(signer.verify(TokenKind::App, &app, 1_001).is_ok());
    }

    #[test]
    fn upper_case_spellings_are_refused() {
        let signer = signer();
        let token = signer.sign(&TokenClaims::new(TokenKind::Tenant, 42, 1_000));
        assert!(token[3..].bytes().any(|b| b.is_ascii_lowercase()), "{token}");
        assert_eq!(
            signer.verify(
                TokenKind::Tenant,
                &format!("t-g{}", token[3..].to_ascii_uppercase()),
                1_001
            ),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            signer.verify(TokenKind::Tenant, &token.to_ascii_uppercase(), 1_001),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_lifetime_longer_than_issued_is_refused_however_well_signed() {
        let signer = signer();
        let mut claims = TokenClaims::new(TokenKind::Tenant, 42, 1_000);
        assert!(
            signer
                .verify(TokenKind::Tenant, &signer.sign(&claims), 1_001)
                .is_ok()
        );
        claims.expires_at = claims.issued_at + TOKEN_LIFETIME_SECS + 1;
        assert_eq!(
            signer.verify(TokenKind::Tenant, &signer.sign(&claims), 1_001),
            Err(TokenError::Invalid)
        );
        claims.expires_at = i64::MAX;
        claims.issued_at = i64::MIN;
        assert_eq!(
            signer.verify(TokenKind::Tenant, &signer.sign(&claims), 1_001),
            Err(TokenError::Invalid)
        );
        claims.issued_at = claims.expires_at;
        assert_eq!(
            signer.verify(TokenKind::Tenant, &signer.sign(&claims), 1_001),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn reuse_window() {
        let claims = TokenClaims::new(TokenKind::Tenant, 1, 0);
        assert!(claims.reusable(7200 - 1800));
        assert!(!claims.reusable(7200 - 1799));
        assert_eq!(claims.remaining(100), 7100);
        assert_eq!(claims.remaining(99_999), 0);
    }
}
