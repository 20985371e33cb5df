//! Identifier shapes: digit-string ids for tickets and helpdesks, `cli_` app ids, `ou_` open ids,
//! 16-hex tenant keys.

use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;

/// A 19-digit id (fits in an i64) shaped like Feishu's snowflake ids: the unix time in
/// milliseconds, shifted left 22 bits, over 22 random bits (Feishu's example ticket
/// 6948728206392295444 was made in June 2021; ids made from April 2024 to June 2030 start with
/// 7). Ids made later are larger, so SQLite appends a new ticket's row at the end of its table,
/// which is keyed by ticket_id, instead of splitting a page somewhere inside it. Within one
/// process ids never repeat, even many in one millisecond or after the clock steps back;
/// between instances the random bits keep a collision to about 1 in 4 million per pair of ids
/// made in the same millisecond.
pub fn new_numeric_id() -> String {
    snowflake_after(&LAST_NUMERIC_ID, unix_ms(), rand::rng().random_range(0..1 << 22)).to_string()
}

static LAST_NUMERIC_ID: AtomicI64 = AtomicI64::new(0);

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX >> 22))
}

/// The id for `ms` and `random` (22 bits), or one more than the last id handed out if that is
/// not larger.
fn snowflake_after(last: &AtomicI64, ms: i64, random: i64) -> i64 {
    let candidate = (ms.min(i64::MAX >> 22) << 22) | random;
    let previous = last
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(candidate.max(last.saturating_add(1)))
        })
        .unwrap_or_else(|last| last);
    candidate.max(previous.saturating_add(1))
}

/// A ticket's public id: what `ticket_id` carries on the wire (as a digit string) and what keys a
/// ticket in storage. 1 to 19 digits that fit an i64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(i64);

impl TicketId {
    /// A ticket id from storage or a test; callers parsing input use [`TicketId::parse`].
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// An id as accepted on the wire ([`is_valid_numeric_id`]); `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| text.parse().ok().map(Self))?
    }

    /// A fresh snowflake id (see [`new_numeric_id`]).
    pub fn generate() -> Self {
        Self(snowflake_after(
            &LAST_NUMERIC_ID,
            unix_ms(),
            rand::rng().random_range(0..1 << 22),
        ))
    }
}

impl std::fmt::Display for TicketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Digit-string public ids of other resources, shaped and parsed like [`TicketId`].
macro_rules! numeric_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            pub const fn get(self) -> i64 {
                self.0
            }

            /// An id as accepted on the wire ([`is_valid_numeric_id`]); `None` otherwise.
            pub fn parse(text: &str) -> Option<Self> {
                TicketId::parse(text).map(|t| Self(t.get()))
            }

            /// A fresh snowflake id (see [`new_numeric_id`]).
            pub fn generate() -> Self {
                Self(TicketId::generate().get())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

numeric_id!(
    /// A FAQ's public id (`faq_id`).
    FaqId,
    /// A push job's public id (`notification_id`).
    NotificationId,
);

/// Storage ids of the console entities. They never leave larkdesk (the wire uses `tenant_key`,
/// `app_id`, `helpdesk_id` and `open_id`); each has its own type so one cannot be passed where
/// another is meant.
macro_rules! row_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

row_id!(
    /// A tenant's storage id.
    TenantRowId,
    /// An app's storage id (signed into its tokens).
    AppRowId,
    /// A helpdesk's storage id.
    HelpdeskRowId,
    /// A directory user's storage id (the subject of user access tokens).
    UserRowId,
);

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
    TicketId::parse(id).is_some()
}

/// An event id: 32 hex, as in event headers.
pub fn new_event_id() -> String {
    hex(16)
}

/// A message id (`om_` + 32 hex), as IM uses. Its first 12 hex digits are the time of making
/// in milliseconds and the other 20 are random, so ids made later sort later: the unique index
/// on message ids then grows at its end, where the changes of one group commit share a page,
/// instead of taking a random page each (a page written per message post, a seventh of them).
pub fn new_message_id() -> String {
    format!("om_{:012x}{}", unix_ms().clamp(0, 0xffff_ffff_ffff), hex(10))
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
    fn numeric_ids_carry_their_creation_time_and_grow() {
        let before = unix_ms();
        let ids: Vec<i64> = (0..1000).map(|_| new_numeric_id().parse().unwrap()).collect();
        let after = unix_ms();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids made later are larger");
        for id in &ids {
            // A burst can run ahead of the clock by one id per call, never by a millisecond
            // per id: at most 1000 ids here.
            assert!(
                (before..=after + 1).contains(&(id >> 22)),
                "{id} made between {before} and {after}"
            );
        }
        assert!(
            ids[0].to_string().starts_with('7'),
            "made between 2024-04 and 2030-06"
        );
    }

    #[test]
    fn message_ids_are_32_hex_and_sort_in_the_order_they_were_made() {
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.extend((0..100).map(|_| new_message_id()));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        for id in &ids {
            let hex = id.strip_prefix("om_").expect("om_ prefix");
            assert_eq!(hex.len(), 32, "{id}");
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
        }
        let made_ms = |id: &str| i64::from_str_radix(&id[3..15], 16).unwrap();
        let (first, last) = (made_ms(&ids[0]), made_ms(&ids[299]));
        assert!(last >= first + 4, "three batches 2 ms apart: {first} .. {last}");
        // Ids of different milliseconds sort by time; within one the order is random.
        for (a, b) in ids[..100].iter().zip(&ids[200..]) {
            assert!(a < b, "{a} made before {b}");
        }
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn numeric_ids_never_repeat_or_go_back_within_a_process() {
        let last = AtomicI64::new(0);
        let first = snowflake_after(&last, 1_796_000_000_000, 5);
        assert_eq!(first, (1_796_000_000_000 << 22) | 5);
        // The same millisecond and random bits again, then a clock that stepped back.
        assert_eq!(snowflake_after(&last, 1_796_000_000_000, 5), first + 1);
        assert_eq!(snowflake_after(&last, 1_795_999_999_000, 9), first + 2);
        // Once the clock has moved on, its ids are used as they are.
        let later = snowflake_after(&last, 1_796_000_000_001, 3);
        assert_eq!(later, (1_796_000_000_001 << 22) | 3);
    }

    #[test]
    fn ticket_ids_parse_as_the_wire_accepts_them() {
        assert_eq!(TicketId::parse("007"), Some(TicketId::new(7)));
        assert_eq!(
            TicketId::parse("7081979418813739877").map(TicketId::get),
            Some(7_081_979_418_813_739_877)
        );
        for bad in ["", "-1", "12a", "99999999999999999999", "9999999999999999999"] {
            assert_eq!(TicketId::parse(bad), None, "{bad}");
        }
        assert_eq!(TicketId::new(42).to_string(), "42");
        let (a, b) = (TicketId::generate(), TicketId::generate());
        assert!(a < b && a.to_string().len() == 19);
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
