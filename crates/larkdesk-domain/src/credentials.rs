//! Generated secrets and how we keep them: app secrets and helpdesk tokens are random, high-entropy
//! strings, so a SHA-256 digest is enough to store them (no password stretching needed), and
//! comparison happens between digests in constant time.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// SHA-256 digest of a secret, the only form in which secrets are stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// Constant-time check of a presented secret against this digest.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented).same_as(self)
    }

    /// Constant-time comparison of two digests.
    pub fn same_as(&self, other: &SecretHash) -> bool {
        constant_time_eq::constant_time_eq_32(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new app secret: 32 alphanumerics, like Feishu's.
pub fn new_app_secret() -> String {
    alphanumeric(32)
}

/// A new helpdesk token: `ht-` + 32 alphanumerics.
pub fn new_helpdesk_token() -> String {
    format!("ht-{}", alphanumeric(32))
}

/// A new admin token for larkdesk's own admin API.
pub fn new_admin_token() -> String {
    format!("ldadm-{}", alphanumeric(40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_only_the_same_secret() {
        let secret = new_app_secret();
        let hash = SecretHash::of(&secret);
        assert!(hash.matches(&secret));
        assert!(!hash.matches(&format!("{secret}x")));
        assert!(!hash.matches(""));
    }

    #[test]
    fn generated_secrets_have_the_feishu_shape() {
        let s = new_app_secret();
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        let t = new_helpdesk_token();
        assert!(t.starts_with("ht-") && t.len() == 35);
        assert_ne!(new_app_secret(), new_app_secret());
    }

    #[test]
    fn debug_never_prints_the_digest() {
        assert_eq!(format!("{:?}", SecretHash::of("x")), "SecretHash(..)");
    }
}
