//! Identifier shapes: digit-string ids for tickets and helpdesks, `cli_` app ids, `ou_` open ids,
//! 16-hex tenant keys.

use rand::Rng;

/// A 19-digit id (fits in an i64, like Feishu's snowflake ids), always starting with 7.
pub fn new_numeric_id() -> String {
    let n: i64 = rand::rng().random_range(7_000_000_000_000_000_000..=7_999_999_999_999_999_999);
    n.to_string()
}

fn hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

pub fn new_app_id() -> String {
    format!("cli_{}", hex(8))
}

pub fn new_open_id() -> String {
    format!("ou_{}", hex(16))
}

pub fn new_tenant_key() -> String {
    hex(8)
}

pub fn new_chat_id() -> String {
    format!("oc_{}", hex(16))
}

/// A ticket id as accepted on the wire: 1 to 19 ASCII digits, no sign, no spaces.
pub fn is_valid_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<i64>().is_ok()
}

/// An event id: 32 hex, as in event headers.
pub fn new_event_id() -> String {
    hex(16)
}

/// A message id (`om_` + 32 hex), as IM uses.
pub fn new_message_id() -> String {
    format!("om_{}", hex(16))
}

/// The id of the `ticket_message.created` event of a message: derived from the message id so
/// that rebuilding projections from the event log reproduces it exactly.
pub fn message_event_id(message_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message_id.as_bytes());
    hex::encode(&digest[..16])
}

/// A stable positive 63-bit number derived from a text id: the numeric user id shown in
/// `comments.user_id` (Feishu shows a 19-digit integer there; we only have open_ids) and the
/// numeric id of a ticket message.
pub fn stable_numeric_id(text: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(bytes) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_valid_and_19_digits() {
        for _ in 0..100 {
            let id = new_numeric_id();
            assert_eq!(id.len(), 19);
            assert!(is_valid_numeric_id(&id));
        }
    }

    #[test]
    fn rejects_non_numeric_ids() {
        for bad in [
            "",
            "abc",
            "1 OR 1=1",
            "-1",
            "+1",
            "12345678901234567890",
            "9999999999999999999",
            "１２",
        ] {
            assert!(!is_valid_numeric_id(bad), "{bad}");
        }
        assert!(is_valid_numeric_id("123456"));
    }

    #[test]
    fn shapes() {
        assert!(new_app_id().starts_with("cli_") && new_app_id().len() == 20);
        assert!(new_open_id().starts_with("ou_") && new_open_id().len() == 35);
        assert_eq!(new_tenant_key().len(), 16);
    }
}
