//! Size limits on what callers send and receive, the same on every backend.

/// Largest `content` of a text message, in bytes (Feishu's IM limit for text: 150 KB).
pub const TEXT_CONTENT_MAX_BYTES: usize = 150 * 1024;
/// Largest `content` of any other message (post, image, interactive card), in bytes (Feishu's
/// IM limit for rich-text and card messages: 30 KB).
pub const RICH_CONTENT_MAX_BYTES: usize = 30 * 1024;
/// Most message content one page of `GET /tickets/:id/messages` returns, in bytes: a page that
/// would hold more is refused (ask a smaller `page_size`) rather than cut short, so paging by
/// page numbers never skips a message.
pub const MESSAGE_PAGE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Longest id or key a caller chooses (a user's open_id, a field's `key_name`), in bytes.
/// PostgreSQL cannot index a value of more than ~2.7 KB, so without a limit such a value would be
/// an internal error there and accepted by SQLite; this limit holds on both.
pub const KEY_MAX_BYTES: usize = 255;
/// Longest indexed name a caller chooses (a skill's name), in bytes.
pub const NAME_MAX_BYTES: usize = 1024;

/// Whether `value` (named `what`) is at most `max` bytes; the reason if not.
pub fn bounded(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "{what} is {} bytes; at most {max} are allowed",
            value.len()
        ));
    }
    Ok(())
}

/// Whether a message's `content` is within Feishu's limit for its `msg_type`; the reason if not.
pub fn message_content(msg_type: &str, content: &str) -> Result<(), String> {
    let max = match msg_type {
        "text" => TEXT_CONTENT_MAX_BYTES,
        _ => RICH_CONTENT_MAX_BYTES,
    };
    if content.len() > max {
        return Err(format!(
            "content of a {msg_type} message is {} bytes; at most {max} are allowed",
            content.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_content_limits_by_type() {
        let cases: &[(&str, usize, bool)] = &[
            ("text", 0, true),
            ("text", TEXT_CONTENT_MAX_BYTES, true),
            ("text", TEXT_CONTENT_MAX_BYTES + 1, false),
            ("post", RICH_CONTENT_MAX_BYTES, true),
            ("post", RICH_CONTENT_MAX_BYTES + 1, false),
            ("interactive", RICH_CONTENT_MAX_BYTES + 1, false),
            ("image", RICH_CONTENT_MAX_BYTES + 1, false),
        ];
        for &(msg_type, len, ok) in cases {
            let content = "x".repeat(len);
            assert_eq!(
                message_content(msg_type, &content).is_ok(),
                ok,
                "{msg_type} of {len} bytes"
            );
        }
        assert!(bounded("key_name", &"k".repeat(KEY_MAX_BYTES), KEY_MAX_BYTES).is_ok());
        assert!(bounded("key_name", &"k".repeat(KEY_MAX_BYTES + 1), KEY_MAX_BYTES).is_err());
        // Bytes, not characters: 51,201 three-byte characters are 153,603 bytes.
        assert!(message_content("text", &"字".repeat(51_201)).is_err());
    }
}
