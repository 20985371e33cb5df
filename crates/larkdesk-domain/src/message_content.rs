//! The one shape of a ticket message's `content`, as Feishu returns it in
//! `GET /tickets/:id/messages`: a JSON text `{"msg_type":"text","content":"…"}` (a post adds
//! `image_keys`, an image carries `image_key` and `image_keys`). Whatever a message came in as —
//! IM-style content posted through the API (`{"text":"…"}`, a post's `{"title","content":[[…]]}`
//! or its per-language form), the emulator's plain text — it is stored in this shape, so every
//! reader (the list, the message event) sees one shape.

use serde_json::{Value, json};

/// `content` of a text message saying `text`.
pub fn text(text: &str) -> String {
    json!({"msg_type": "text", "content": text}).to_string()
}

/// The stored content of a message of `msg_type` (`text` or `post`) posted with `raw` content.
pub fn normalize(msg_type: &str, raw: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(raw).ok();
    let object = parsed.as_ref().filter(|v| v.is_object());
    // Already in the stored shape.
    if let Some(v) = object
        && v.get("msg_type").and_then(Value::as_str) == Some(msg_type)
        && v.get("content").is_some_and(Value::is_string)
    {
        return v.to_string();
    }
    match (msg_type, object) {
        ("post", Some(v)) => {
            let post = post_body(v);
            let (body, image_keys) = post.map(post_text).unwrap_or_default();
            json!({"msg_type": "post", "content": body, "image_keys": image_keys}).to_string()
        }
        (_, Some(v)) => match v.get("text").or_else(|| v.get("content")).and_then(Value::as_str) {
            Some(t) => text(t),
            None => text(raw),
        },
        // Not a JSON object: the text itself.
        _ => match parsed.as_ref().and_then(Value::as_str) {
            Some(t) => text(t),
            None => text(raw),
        },
    }
}

/// A post's `{"title","content"}`, directly or under its first language key (`zh_cn`, `en_us`…).
fn post_body(v: &Value) -> Option<&Value> {
    if v.get("content").is_some_and(Value::is_array) {
        return Some(v);
    }
    v.as_object()?
        .values()
        .find(|inner| inner.get("content").is_some_and(Value::is_array))
}

/// The plain text of a post (title, then one line per paragraph) and its image keys.
fn post_text(post: &Value) -> (String, Vec<String>) {
    let mut lines = Vec::new();
    let mut images = Vec::new();
    if let Some(title) = post
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        lines.push(title.to_owned());
    }
    for paragraph in post["content"].as_array().into_iter().flatten() {
        let mut line = String::new();
        for element in paragraph.as_array().into_iter().flatten() {
            if let Some(t) = element.get("text").and_then(Value::as_str) {
                line.push_str(t);
            }
            if let Some(key) = element.get("image_key").and_then(Value::as_str) {
                images.push(key.to_owned());
            }
        }
        lines.push(line);
    }
    (lines.join("\n"), images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn every_input_becomes_the_one_shape() {
        for (msg_type, raw, want) in [
            (
                "text",
                r#"{"text":"hi"}"#,
                json!({"msg_type": "text", "content": "hi"}),
            ),
            (
                "text",
                "plain words",
                json!({"msg_type": "text", "content": "plain words"}),
            ),
            (
                "text",
                r#""quoted""#,
                json!({"msg_type": "text", "content": "quoted"}),
            ),
            (
                "text",
                r#"{"msg_type":"text","content":"as stored"}"#,
                json!({"msg_type": "text", "content": "as stored"}),
            ),
            (
                "text",
                r#"{"other":1}"#,
                json!({"msg_type": "text", "content": r#"{"other":1}"#}),
            ),
            (
                "post",
                r#"{"title":"T","content":[[{"tag":"text","text":"a "},{"tag":"a","text":"link","href":"x"}],[{"tag":"img","image_key":"img_1"}]]}"#,
                json!({"msg_type": "post", "content": "T\na link\n", "image_keys": ["img_1"]}),
            ),
            (
                "post",
                r#"{"zh_cn":{"title":"","content":[[{"tag":"text","text":"你好"}]]}}"#,
                json!({"msg_type": "post", "content": "你好", "image_keys": []}),
            ),
            (
                "post",
                r#"{"title":"t","content":[]}"#,
                json!({"msg_type": "post", "content": "t", "image_keys": []}),
            ),
        ] {
            assert_eq!(v(&normalize(msg_type, raw)), want, "{msg_type} {raw}");
        }
    }
}
