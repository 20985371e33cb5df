//! FAQ rules: what a FAQ must hold, how its rich-text answer is read, and how search matches and
//! ranks FAQs. Everything here is pure; the store finds candidates, these functions decide.
//!
//! # Content ([`content`])
//!
//! - `question` is required and must not be blank; it is kept as given (trimmed).
//! - At least one of `answer` and `answer_richtext` must be non-empty
//!   ([`FaqError::NoAnswer`]). Without `answer`, the plain answer is derived from the rich text
//!   ([`plain_answer`]); without `answer_richtext`, the rich text is one `text` element holding
//!   the answer.
//! - `answer_richtext` arrives as JSON text (create, and the Go SDK's patch) or as an array
//!   (patch in the other SDKs); both are accepted ([`parse_richtext`]). Each element is an object
//!   with a `type` of `text`, `hyperlink`, `img` or `line break` and a string `content`.
//! - Tags ("similar questions") are trimmed; blank ones are dropped, duplicates kept once.
//!
//! # Search ([`terms`], [`rank`])
//!
//! Text is compared in [`normalize`]d form (lowercase). A query becomes terms: runs of letters
//! and digits in Latin and other scripts are words; runs of CJK characters (Han, kana, Hangul)
//! become their overlapping two-character pieces (a run of one or two characters is one term), so
//! that "重置密码" finds "如何重置登录密码". `%`, `_` and punctuation separate terms. At most
//! [`MAX_TERMS`] terms are kept, in order of first appearance, each once.
//!
//! A FAQ is a candidate when its search text ([`search_text`]: question, tags, answer) contains
//! any term (`GET /faqs/search`), or every term (`GET /faqs?search=`). Candidates are ranked by
//! score, highest first: each term found in the question scores 3, in a tag 2, in the answer 1;
//! the whole normalized query found in the question adds 5 more. Ties go to the most recently
//! updated FAQ, then the larger id. FAQs scoring 0 are dropped.

use larkdesk_wire::faqs::Richtext;
use serde_json::Value;

/// The rich-text element types Feishu documents.
pub const RICHTEXT_TYPES: &[&str] = &["text", "hyperlink", "img", "line break"];

/// Most terms a query is split into; the rest is ignored.
pub const MAX_TERMS: usize = 16;

/// Why a FAQ's content is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaqError {
    #[error("question is required")]
    NoQuestion,
    #[error("one of answer and answer_richtext is required")]
    NoAnswer,
    #[error("answer_richtext must be an array of {{\"type\",\"content\"}} objects (or its JSON text)")]
    BadRichtext,
    #[error("answer_richtext type must be one of text, hyperlink, img, line break; got {0:?}")]
    BadRichtextType(String),
}

/// A FAQ's content once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqContent {
    pub question: String,
    pub answer: String,
    pub answer_richtext: Vec<Richtext>,
    pub tags: Vec<String>,
}

/// `answer_richtext` as sent: JSON text of an array, or the array. `null` and `""` are "not
/// given" (`None`).
pub fn parse_richtext(value: &Value) -> Result<Option<Vec<Richtext>>, FaqError> {
    let array = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|_| FaqError::BadRichtext)?,
        Value::Array(_) => value.clone(),
        _ => return Err(FaqError::BadRichtext),
    };
    let Value::Array(items) = array else {
        return Err(FaqError::BadRichtext);
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(map) = item else {
            return Err(FaqError::BadRichtext);
        };
        let kind = match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(FaqError::BadRichtext),
        };
        if !RICHTEXT_TYPES.contains(&kind.as_str()) {
            return Err(FaqError::BadRichtextType(kind));
        }
        let content = match map.get("content") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(c)) => c.clone(),
            Some(_) => return Err(FaqError::BadRichtext),
        };
        out.push(Richtext { content, kind });
    }
    Ok(Some(out))
}

/// The plain text of a rich-text answer: text and hyperlink contents in order, a newline per
/// line break, images left out.
pub fn plain_answer(richtext: &[Richtext]) -> String {
    let mut out = String::new();
    for item in richtext {
        match item.kind.as_str() {
            "text" | "hyperlink" => out.push_str(&item.content),
            "line break" => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// The image keys a rich-text answer shows.
pub fn image_keys(richtext: &[Richtext]) -> Vec<&str> {
    richtext
        .iter()
        .filter(|r| r.kind == "img" && !r.content.is_empty())
        .map(|r| r.content.as_str())
        .collect()
}

/// Check and complete a FAQ's content (see the module doc).
pub fn content(
    question: Option<&str>,
    answer: Option<&str>,
    richtext: Option<Vec<Richtext>>,
    tags: &[String],
) -> Result<FaqContent, FaqError> {
    let question = question.map(str::trim).unwrap_or_default();
    if question.is_empty() {
        return Err(FaqError::NoQuestion);
    }
    let answer = answer.map(str::trim).unwrap_or_default();
    let richtext = richtext.unwrap_or_default();
    let (answer, answer_richtext) = match (answer.is_empty(), richtext.is_empty()) {
        (true, true) => return Err(FaqError::NoAnswer),
        (true, false) => (plain_answer(&richtext), richtext),
        (false, true) => (
            answer.to_owned(),
            vec![Richtext {
                content: answer.to_owned(),
                kind: "text".to_owned(),
            }],
        ),
        (false, false) => (answer.to_owned(), richtext),
    };
    let mut kept: Vec<String> = Vec::new();
    for tag in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !kept.iter().any(|k| k == tag) {
            kept.push(tag.to_owned());
        }
    }
    Ok(FaqContent {
        question: question.to_owned(),
        answer,
        answer_richtext,
        tags: kept,
    })
}

/// Text as search compares it.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
}

/// What search looks in, normalized: question, tags and answer, one per line.
pub fn search_text(question: &str, tags: &[String], answer: &str) -> String {
    let mut text = normalize(question);
    for tag in tags {
        text.push('\n');
        text.push_str(&normalize(tag));
    }
    text.push('\n');
    text.push_str(&normalize(answer));
    text
}

/// Han, kana, Hangul: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff      // Hiragana, Katakana
        | 0x3400..=0x4dbf    // CJK Extension A
        | 0x4e00..=0x9fff    // CJK Unified Ideographs
        | 0xac00..=0xd7af    // Hangul syllables
        | 0xf900..=0xfaff    // CJK Compatibility Ideographs
        | 0x20000..=0x2fa1f) // Extensions B.., compatibility supplement
}

fn push_term(out: &mut Vec<String>, term: String) {
    if out.len() < MAX_TERMS && !out.contains(&term) {
        out.push(term);
    }
}

/// A run of CJK characters: itself when one or two long, else its two-character pieces.
fn push_cjk_run(out: &mut Vec<String>, run: &mut Vec<char>) {
    if run.len() <= 2 {
        if !run.is_empty() {
            push_term(out, run.iter().collect());
        }
    } else {
        for pair in run.windows(2) {
            push_term(out, pair.iter().collect());
        }
    }
    run.clear();
}

/// The search terms of a query (see the module doc).
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    for c in normalize(query).chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                push_term(&mut out, std::mem::take(&mut word));
            }
            run.push(c);
        } else {
            push_cjk_run(&mut out, &mut run);
            if c.is_alphanumeric() {
                word.push(c);
            } else if !word.is_empty() {
                push_term(&mut out, std::mem::take(&mut word));
            }
        }
    }
    push_cjk_run(&mut out, &mut run);
    if !word.is_empty() {
        push_term(&mut out, word);
    }
    out
}

/// What ranking needs of a candidate.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub question: &'a str,
    pub tags: &'a [String],
    pub answer: &'a str,
    pub update_time: i64,
    /// The FAQ id as a number (ids are digit strings), for a stable last tie-break.
    pub id: i64,
}

/// A candidate's score for `query` split into `terms` (see the module doc).
pub fn score(query: &str, terms: &[String], c: &Candidate<'_>) -> u32 {
    let question = normalize(c.question);
    let tags: Vec<String> = c.tags.iter().map(|t| normalize(t)).collect();
    let answer = normalize(c.answer);
    let mut score = 0;
    for term in terms {
        if question.contains(term.as_str()) {
            score += 3;
        }
        if tags.iter().any(|t| t.contains(term.as_str())) {
            score += 2;
        }
        if answer.contains(term.as_str()) {
            score += 1;
        }
    }
    let whole = normalize(query.trim());
    if score > 0 && !whole.is_empty() && question.contains(whole.as_str()) {
        score += 5;
    }
    score
}

/// The order of `candidates` for `query`, best first, without those scoring 0: indexes into
/// `candidates`.
pub fn rank(query: &str, candidates: &[Candidate<'_>]) -> Vec<usize> {
    let terms = terms(query);
    let mut scored: Vec<(u32, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (score(query, &terms, c), i))
        .filter(|(s, _)| *s > 0)
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        let (a, b) = (&candidates[*a], &candidates[*b]);
        sb.cmp(sa)
            .then(b.update_time.cmp(&a.update_time))
            .then(b.id.cmp(&a.id))
    });
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn rt(kind: &str, content: &str) -> Richtext {
        Richtext {
            content: content.to_owned(),
            kind: kind.to_owned(),
        }
    }

    #[test]
    fn richtext_as_text_or_array() {
        type Parsed = Result<Option<Vec<Richtext>>, FaqError>;
        let cases: Vec<(Value, Parsed)> = vec![
            (Value::Null, Ok(None)),
            (json!(""), Ok(None)),
            (json!("  "), Ok(None)),
            (
                json!("[{\"content\":\"答案\",\"type\":\"text\"}]"),
                Ok(Some(vec![rt("text", "答案")])),
            ),
            (
                json!([{"content": "a", "type": "text"}, {"type": "line break"}]),
                Ok(Some(vec![rt("text", "a"), rt("line break", "")])),
            ),
            (json!([]), Ok(Some(vec![]))),
            (json!("not json"), Err(FaqError::BadRichtext)),
            (json!("{\"type\":\"text\"}"), Err(FaqError::BadRichtext)),
            (json!(5), Err(FaqError::BadRichtext)),
            (json!([1]), Err(FaqError::BadRichtext)),
            (json!([{"content": "a"}]), Err(FaqError::BadRichtext)),
            (
                json!([{"type": "text", "content": 1}]),
                Err(FaqError::BadRichtext),
            ),
            (
                json!([{"type": "video", "content": "x"}]),
                Err(FaqError::BadRichtextType("video".into())),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_richtext(&input), want, "{input}");
        }
    }

    #[test]
    fn plain_answer_reads_text_and_links_only() {
        let r = vec![
            rt("text", "Open "),
            rt("hyperlink", "https://x"),
            rt("line break", ""),
            rt("img", "img_1"),
            rt("text", "then retry"),
        ];
        assert_eq!(plain_answer(&r), "Open https://x\nthen retry");
        assert_eq!(image_keys(&r), vec!["img_1"]);
    }

    #[test]
    fn content_rules() {
        let tags = vec![" a ".to_owned(), String::new(), "a".to_owned(), "b".to_owned()];
        // (question, answer, richtext, want)
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Option<Vec<Richtext>>,
            Result<(String, Vec<Richtext>), FaqError>,
        );
        let cases: Vec<Case> = vec![
            (None, Some("x"), None, Err(FaqError::NoQuestion)),
            (Some("  "), Some("x"), None, Err(FaqError::NoQuestion)),
            (Some("q"), None, None, Err(FaqError::NoAnswer)),
            (Some("q"), Some(" "), Some(vec![]), Err(FaqError::NoAnswer)),
            (
                Some("q"),
                Some("x"),
                None,
                Ok(("x".into(), vec![rt("text", "x")])),
            ),
            (
                Some("q"),
                None,
                Some(vec![rt("text", "from rich")]),
                Ok(("from rich".into(), vec![rt("text", "from rich")])),
            ),
            (
                Some("q"),
                Some("plain"),
                Some(vec![rt("text", "rich")]),
                Ok(("plain".into(), vec![rt("text", "rich")])),
            ),
        ];
        for (q, a, r, want) in cases {
            let got = content(q, a, r, &tags).map(|c| {
                assert_eq!(c.tags, vec!["a", "b"]);
                assert_eq!(c.question, q.unwrap().trim());
                (c.answer, c.answer_richtext)
            });
            assert_eq!(got, want, "{q:?} {a:?}");
        }
    }

    #[test]
    fn query_terms() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  ,.  ", &[]),
            ("Reset Password", &["reset", "password"]),
            ("reset reset", &["reset"]),
            ("重置密码", &["重置", "置密", "密码"]),
            ("工单", &["工单"]),
            ("单", &["单"]),
            ("如何 reset密码?", &["如何", "reset", "密码"]),
            ("100%_off", &["100", "off"]),
            ("VPN连接失败", &["vpn", "连接", "接失", "失败"]),
            ("パスワード", &["パス", "スワ", "ワー", "ード"]),
        ];
        for (query, want) in cases {
            assert_eq!(terms(query), *want, "{query:?}");
        }
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(terms(&many).len(), MAX_TERMS);
    }

    fn cand<'a>(
        question: &'a str,
        tags: &'a [String],
        answer: &'a str,
        update_time: i64,
        id: i64,
    ) -> Candidate<'a> {
        Candidate {
            question,
            tags,
            answer,
            update_time,
            id,
        }
    }

    #[test]
    fn ranking() {
        let none: Vec<String> = vec![];
        let vpn_tags = vec!["VPN 连不上".to_owned()];
        let c = [
            cand("如何重置登录密码", &none, "在设置页点击重置", 10, 1),
            cand(
                "How do I reset my password?",
                &none,
                "Open settings and click Reset.",
                10,
                2,
            ),
            cand("公司网络怎么用", &vpn_tags, "安装客户端", 10, 3),
            cand("Printer setup", &none, "Ask IT to reset the printer queue", 10, 4),
            cand("Expense reports", &none, "Submit them monthly", 10, 5),
        ];
        let order = |q: &str| rank(q, &c).into_iter().map(|i| c[i].id).collect::<Vec<_>>();
        assert_eq!(order("重置密码"), vec![1]);
        assert_eq!(order("reset password"), vec![2, 4]);
        assert_eq!(order("VPN"), vec![3]);
        assert_eq!(order("nothing here"), Vec::<i64>::new());
        // The whole query in the question outranks scattered hits.
        let t = [
            cand("password reset and more", &none, "", 1, 10),
            cand("reset password", &none, "", 1, 11),
        ];
        assert_eq!(rank("reset password", &t), vec![1, 0]);
        // Ties: newer update first, then larger id.
        let t = [
            cand("reset", &none, "", 1, 20),
            cand("reset", &none, "", 2, 21),
            cand("reset", &none, "", 2, 22),
        ];
        assert_eq!(rank("reset", &t), vec![2, 1, 0]);
    }

    proptest! {
        #[test]
        fn terms_are_normalized_unique_and_bounded(query in "\\PC{0,60}") {
            let t = terms(&query);
            prop_assert!(t.len() <= MAX_TERMS);
            for (i, term) in t.iter().enumerate() {
                prop_assert!(!term.is_empty());
                prop_assert_eq!(term.clone(), normalize(term));
                prop_assert!(!term.contains('%') && !term.contains('_'));
                prop_assert!(!t[..i].contains(term));
            }
        }

        #[test]
        fn a_question_is_found_by_itself(question in "[a-z\u{4e00}-\u{4e80} ]{1,30}") {
            prop_assume!(!terms(&question).is_empty());
            let none: Vec<String> = vec![];
            let c = [cand(&question, &none, "", 0, 1)];
            prop_assert_eq!(rank(&question, &c), vec![0]);
        }
    }
}
