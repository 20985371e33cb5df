//! The console's page shell, HTML escaping and formatting helpers.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Session, Who};

/// Escape text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf_field(session: &Session) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&session.csrf)
    )
}

/// A whole page: header with the navigation of who is signed in, then `body`.
pub fn page(title: &str, session: Option<&Session>, body: &str) -> String {
    let (nav, who) = match session.map(|s| &s.who) {
        Some(Who::Admin) => (
            r#"<a href="/console/admin">Apps &amp; helpdesks</a><a href="/console/admin/users">Users &amp; agents</a><a href="/console/admin/events">Events</a><a href="/console/admin/journal">Journal</a>"#.to_owned(),
            "admin".to_owned(),
        ),
        Some(Who::Agent(p)) => (
            r#"<a href="/console/agent">Queue</a>"#.to_owned(),
            format!("agent {}", esc(&p.name)),
        ),
        Some(Who::Guest(p)) => (
            r#"<a href="/console/guest">My conversations</a>"#.to_owned(),
            format!("guest {}", esc(&p.name)),
        ),
        None => (String::new(), String::new()),
    };
    let logout = session.map_or_else(String::new, |s| {
        format!(
            r#"<form class="inline" method="post" action="/console/logout">{}<button type="submit" class="secondary">Sign out</button></form>"#,
            csrf_field(s)
        )
    });
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{{"includeIndicatorStyles":false,"allowEval":false}}'>
<title>{title} · larkdesk</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/htmx.min.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/console">larkdesk console</a><nav aria-label="Main">{nav}</nav><span class="who">{who}</span>{logout}</header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
    )
}

/// An HTML response with the console's headers: never cached, never framed, scripts and
/// styles only from the console itself.
pub fn respond(status: StatusCode, html: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        html.to_owned(),
    )
        .into_response()
}

/// 200 with a whole page.
pub fn ok(title: &str, session: &Session, body: &str) -> Response {
    respond(StatusCode::OK, &page(title, Some(session), body))
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS` UTC; `—` for unset (0 or negative).
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ms.to_string(),
    }
}

/// Seconds as `1h 02m 05s` / `2m 05s` / `5s`.
pub fn duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{sign}{m}m {s:02}s")
    } else {
        format!("{sign}{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn formats_durations_and_times() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(125), "2m 05s");
        assert_eq!(duration(3725), "1h 02m 05s");
        assert_eq!(time(0), "—");
        assert_eq!(time(1_764_979_200_000), "2025-12-06 00:00:00");
    }
}
