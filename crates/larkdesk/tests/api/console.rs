//! The web console's server-side rules (no browser: `console-tests/` drives one): pages need a
//! session, sign-in refusals are pages, CSRF, cookie flags, expiry and sign-out, and that what
//! an agent does in the console is what the Feishu API then shows.

use serde_json::{Value, json};

use crate::common::{ADMIN_TOKEN, Response, TestServer};

/// A browser of the console: no redirects followed, the session cookie kept by hand.
struct Browser<'a> {
    server: &'a TestServer,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Response {
        let request = match &self.cookie {
            Some(c) => request.header("Cookie", c.clone()),
            None => request,
        };
        let r = self.server.send(request).await;
        if let Some(set) = r.header("set-cookie") {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        r
    }

    async fn get(&mut self, path: &str) -> Response {
        let request = self.http.get(self.server.url(path));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let body = form_body(form);
        let request = self
            .http
            .post(self.server.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn sign_in_admin(&mut self) -> Response {
        self.post("/console/login", &[("admin_token", ADMIN_TOKEN)]).await
    }

    /// Sign in as the demo agent (demo mode: by picking).
    async fn sign_in_demo_agent(&mut self) -> Response {
        let (pick, _) = demo_user(self.server, true).await;
        self.post("/console/login/agent", &[("user", &pick)]).await
    }

    /// The CSRF token of the forms on a page.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        csrf_of(&page.text)
    }
}

/// The first directory user who is (or is not) an agent: how the console's sign-in forms name
/// them (`tenant_key/open_id`), and their open_id.
async fn demo_user(server: &TestServer, is_agent: bool) -> (String, String) {
    let users = server
        .admin_request(reqwest::Method::GET, "/users", json!({}))
        .await;
    let user = users.json()["data"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["is_agent"] == json!(is_agent))
        .cloned()
        .unwrap_or_else(|| panic!("the demo has a user with is_agent {is_agent}"));
    let open_id = user["open_id"].as_str().unwrap().to_owned();
    (
        format!("{}/{open_id}", user["tenant_key"].as_str().unwrap()),
        open_id,
    )
}

fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn csrf_of(html: &str) -> String {
    let start = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + 19;
    html[start..start + 64].to_owned()
}

/// A form posted with bad input: where, its fields, the status and what the page must say.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[track_caller]
fn assert_page(r: &Response, status: u16, says: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text.contains(says), "expected {says:?} in {}", r.text);
}

#[track_caller]
fn assert_to_login(r: &Response) {
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/console/login"));
}

#[tokio::test]
async fn pages_need_a_session() {
    let server = TestServer::start().await;
    let mut browser = Browser::new(&server);
    let demo = server.demo();
    for path in [
        "/console",
        "/console/admin",
        "/console/admin/users",
        "/console/admin/events",
        "/console/admin/journal",
        "/console/agent",
        &format!(
            "/console/agent/helpdesks/{}/tickets/{}",
            demo.helpdesk_id, demo.ticket_ids[0]
        ),
        "/console/guest",
    ] {
        assert_to_login(&browser.get(path).await);
    }
    // A live part's poll (htmx) is told to stop polling rather than sent to sign in.
    let poll = browser
        .http
        .get(server.url("/console/agent"))
        .header("HX-Request", "true");
    let r = browser.send(poll).await;
    assert_eq!((r.status, r.text.as_str()), (286, ""));
    // A made-up session id is no session.
    browser.cookie = Some(format!("larkdesk_console={}", "ab".repeat(32)));
    assert_to_login(&browser.get("/console/admin").await);
    // A POST without a session is refused with a page.
    let r = browser
        .post(
            "/console/admin/apps/rotate_secret",
            &[("app_id", &demo.app_id), ("csrf", "x")],
        )
        .await;
    assert_page(&r, 401, "Sign in again");
    // The old secret still works: nothing was rotated.
    server.demo_token().await;
    // The sign-in page and the assets need none.
    assert_page(&browser.get("/console/login").await, 200, "Admin token");
    let htmx = browser.get("/console/assets/htmx.min.js").await;
    assert_eq!(htmx.status, 200);
    assert!(htmx.text.starts_with("/*! htmx 2."));
    assert_page(&browser.get("/console/no/such/page").await, 404, "no such page");
}

#[tokio::test]
async fn a_wrong_admin_token_is_refused_with_a_page() {
    let server = TestServer::start().await;
    let mut browser = Browser::new(&server);
    for token in ["", "wrong", &format!("{ADMIN_TOKEN}x")] {
        let r = browser.post("/console/login", &[("admin_token", token)]).await;
        assert_page(&r, 401, "not the admin token");
        assert!(r.header("set-cookie").is_none());
    }
    let r = browser.post("/console/login", &[]).await;
    assert_page(&r, 401, "not the admin token");
    // Another site cannot post the sign-in form (login CSRF), even with the right token.
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let request = browser
            .http
            .post(server.url("/console/login"))
            .header(name, value)
            .body(format!("admin_token={ADMIN_TOKEN}"));
        let r = browser.send(request).await;
        assert_page(&r, 403, "own sign-in page");
        assert!(r.header("set-cookie").is_none());
    }
    let same_origin = browser
        .http
        .post(server.url("/console/login"))
        .header("Origin", server.base.clone())
        .header("Sec-Fetch-Site", "same-origin")
        .body(format!("admin_token={ADMIN_TOKEN}"));
    assert_eq!(Browser::new(&server).send(same_origin).await.status, 303);
    assert_to_login(&browser.get("/console/admin").await);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    let server = TestServer::start().await;
    let mut browser = Browser::new(&server);
    let r = browser.sign_in_admin().await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/console/admin"));
    let cookie = r.header("set-cookie").expect("a session cookie");
    let attributes: Vec<&str> = cookie.split("; ").collect();
    let value = attributes[0].strip_prefix("larkdesk_console=").unwrap();
    assert_eq!(value.len(), 64, "{cookie}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(attributes.contains(&wanted), "{wanted} missing in {cookie}");
    }
    // Behind a TLS proxy it is Secure too.
    let behind_tls = browser
        .send(
            browser
                .http
                .post(server.url("/console/login"))
                .header("X-Forwarded-Proto", "https")
                .body(format!("admin_token={ADMIN_TOKEN}")),
        )
        .await;
    assert!(behind_tls.header("set-cookie").unwrap().ends_with("; Secure"));
    let page = browser.get("/console/admin").await;
    assert_page(&page, 200, "Rotate secret");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let mut other = Browser::new(&server);
    other.sign_in_admin().await;
    let others_token = other.csrf("/console/admin").await;
    let mut browser = Browser::new(&server);
    browser.sign_in_admin().await;
    let token = browser.csrf("/console/admin").await;
    assert_ne!(token, others_token);
    for csrf in [
        None,
        Some(""),
        Some("0".repeat(64).as_str()),
        Some(others_token.as_str()),
    ] {
        let mut form = vec![("app_id", demo.app_id.as_str())];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let r = browser.post("/console/admin/apps/rotate_secret", &form).await;
        assert_page(&r, 403, "CSRF check failed");
    }
    // Nothing was rotated.
    server.demo_token().await;

    // With the token: the new secret is shown once, and it is the one that works now.
    let r = browser
        .post(
            "/console/admin/apps/rotate_secret",
            &[("app_id", &demo.app_id), ("csrf", &token)],
        )
        .await;
    assert_page(&r, 200, "Shown only now");
    let start = r.text.find(r#"id="secret">"#).unwrap() + 12;
    let secret = &r.text[start..start + r.text[start..].find('<').unwrap()];
    server.tenant_token(&demo.app_id, secret).await;
    let old = server
        .post_raw(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json!({"app_id": demo.app_id, "app_secret": demo.app_secret}).to_string(),
        )
        .await;
    assert_eq!(old.code(), 10014, "{}", old.text);
    // The page shown afterwards does not show it again.
    assert!(!browser.get("/console/admin").await.text.contains(secret));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let server = TestServer::start().await;
    let mut browser = Browser::new(&server);
    browser.sign_in_admin().await;
    let kept = browser.cookie.clone();
    let token = browser.csrf("/console/admin").await;
    // Sign-out is a form too.
    assert_page(
        &browser.post("/console/logout", &[("csrf", "nope")]).await,
        403,
        "CSRF",
    );
    let r = browser.post("/console/logout", &[("csrf", &token)]).await;
    assert_to_login(&r);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The old cookie is worthless now, even sent again.
    browser.cookie = kept;
    assert_to_login(&browser.get("/console/admin").await);
}

#[tokio::test]
async fn sessions_expire() {
    let server = TestServer::start_with(&["--console-session-secs", "1"]).await;
    let mut browser = Browser::new(&server);
    let r = browser.sign_in_admin().await;
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=1;"));
    assert_eq!(browser.get("/console/admin").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_to_login(&browser.get("/console/admin").await);
}

#[tokio::test]
async fn pages_are_for_their_role() {
    let server = TestServer::start().await;
    let mut agent = Browser::new(&server);
    let r = agent.sign_in_demo_agent().await;
    assert_eq!(r.header("location"), Some("/console/agent"), "{}", r.text);
    assert_page(&agent.get("/console/admin").await, 403, "administrator");
    let token = agent.csrf("/console/agent").await;
    let r = agent
        .post(
            "/console/admin/apps/rotate_secret",
            &[("app_id", &server.demo().app_id), ("csrf", &token)],
        )
        .await;
    assert_page(&r, 403, "Only the administrator");
    let mut admin = Browser::new(&server);
    admin.sign_in_admin().await;
    assert_page(&admin.get("/console/agent").await, 403, "for agents");
    // A guest is not an agent: picking one as agent is refused.
    let (pick, _) = demo_user(&server, false).await;
    let r = Browser::new(&server)
        .post("/console/login/agent", &[("user", &pick)])
        .await;
    assert_page(&r, 400, "not an agent");
}

#[tokio::test]
async fn outside_demo_mode_agents_sign_in_with_a_user_token_and_there_is_no_guest_view() {
    let server = TestServer::start_with(&["--no-demo"]).await;
    let installation = server.new_tenant(json!({})).await;
    let tenant_key = server
        .admin_request(reqwest::Method::GET, "/tenants", json!({}))
        .await
        .json()["data"]["tenants"][0]["tenant_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = server
        .admin(
            "/users",
            json!({"tenant_key": tenant_key, "name": "Agent A", "is_agent": true}),
        )
        .await;
    let open_id = agent["id"].as_str().unwrap();
    let token = server
        .admin(
            &format!("/tenants/{tenant_key}/users/{open_id}/user_access_token"),
            json!({"app_id": installation.app_id}),
        )
        .await["user_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::new(&server);
    let login = browser.get("/console/login").await;
    assert!(!login.text.contains("Guest"), "{}", login.text);
    // Picking is for demo mode.
    assert_page(
        &browser
            .post(
                "/console/login/agent",
                &[("user", &format!("{tenant_key}/{open_id}"))],
            )
            .await,
        400,
        "user access token is required",
    );
    assert_page(
        &browser
            .post("/console/login/agent", &[("user_access_token", "u-nonsense")])
            .await,
        401,
        "not valid",
    );
    let r = browser
        .post("/console/login/agent", &[("user_access_token", &token)])
        .await;
    assert_eq!(r.header("location"), Some("/console/agent"), "{}", r.text);
    assert_page(&browser.get("/console/agent").await, 200, "Agent A");
    assert_page(
        &Browser::new(&server)
            .post(
                "/console/login/guest",
                &[("user", &format!("{tenant_key}/{open_id}"))],
            )
            .await,
        403,
        "demo mode only",
    );
}

/// Messages of a ticket through the Feishu API, as the demo app.
async fn feishu_messages(server: &TestServer, ticket_id: &str) -> Value {
    let token = server.demo_token().await;
    let r = server
        .send(
            server
                .http
                .get(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket_id}/messages")))
                .bearer_auth(token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    r.json()["data"]["messages"].clone()
}

#[tokio::test]
async fn an_agents_reply_in_the_console_is_a_message_of_the_feishu_api() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let ticket = &demo.ticket_ids[0];
    let path = format!("/console/agent/helpdesks/{}/tickets/{ticket}", demo.helpdesk_id);
    let mut agent = Browser::new(&server);
    agent.sign_in_demo_agent().await;
    let queue = agent.get("/console/agent").await;
    assert_page(&queue, 200, &path);
    let token = agent.csrf(&path).await;
    let r = agent.post(&format!("{path}/enter"), &[("csrf", &token)]).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some(path.as_str())),
        "{}",
        r.text
    );
    let r = agent
        .post(
            &format!("{path}/reply"),
            &[("csrf", &token), ("content", "Hello <from> the console")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let messages = feishu_messages(&server, ticket).await;
    let last = messages.as_array().unwrap().last().unwrap().clone();
    let content: Value = serde_json::from_str(last["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["content"], json!("Hello <from> the console"));
    // A reply longer than a sign-in form may be (64 KiB) is taken from a signed-in browser.
    let long = "x".repeat(100_000);
    let r = agent
        .post(&format!("{path}/reply"), &[("csrf", &token), ("content", &long)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    // The page shows it, escaped.
    let page = agent.get(&path).await;
    assert_page(&page, 200, "Hello &lt;from&gt; the console");
    // Closing shows in the API's ticket too.
    let r = agent.post(&format!("{path}/close"), &[("csrf", &token)]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let got = server.demo_get_ticket(ticket).await;
    assert_eq!(got.json()["data"]["ticket"]["status"], json!(51), "{}", got.text);
    assert_page(&agent.get(&path).await, 200, "Closed by agent (51)");
}

#[tokio::test]
async fn bad_input_in_forms_is_a_message_on_the_page() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let path = format!(
        "/console/agent/helpdesks/{}/tickets/{}",
        demo.helpdesk_id, demo.ticket_ids[0]
    );
    let mut agent = Browser::new(&server);
    agent.sign_in_demo_agent().await;
    let token = agent.csrf(&path).await;
    let cases: &[Case] = &[
        ("/status", &[("status", "abc")], 400, "must be a number"),
        ("/status", &[("status", "77")], 400, "status"),
        ("/reply", &[("content", "   ")], 400, "A reply is required"),
        ("/reply", &[], 400, "A reply is required"),
        ("/fields", &[("field:nope", "x")], 400, "unknown customized field"),
        ("/frobnicate", &[], 404, "no such page"),
    ];
    for (action, fields, status, says) in cases {
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let r = agent.post(&format!("{path}{action}"), &form).await;
        assert_page(&r, *status, says);
    }
    for bad in [
        format!("/console/agent/helpdesks/{}/tickets/123", demo.helpdesk_id),
        format!("/console/agent/helpdesks/{}/tickets/x%FF", demo.helpdesk_id),
        format!("/console/agent/helpdesks/999/tickets/{}", demo.ticket_ids[0]),
        "/console/agent?status=bogus".to_owned(),
        "/console/agent?before=nonsense".to_owned(),
        "/console/agent?helpdesk=999".to_owned(),
    ] {
        let r = agent.get(&bad).await;
        assert!(matches!(r.status, 400 | 404), "{bad}: {} {}", r.status, r.text);
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{bad}"
        );
    }
    let mut admin = Browser::new(&server);
    admin.sign_in_admin().await;
    let token = admin.csrf("/console/admin").await;
    let cases: &[Case] = &[
        (
            "/console/admin/tenants",
            &[("name", "")],
            400,
            "A name is required",
        ),
        (
            "/console/admin/tenants",
            &[("name", "t"), ("tenant_key", "no spaces!")],
            400,
            "tenant_key",
        ),
        (
            "/console/admin/apps",
            &[("tenant_key", "nope"), ("name", "a")],
            404,
            "no such",
        ),
        (
            "/console/admin/apps/rotate_secret",
            &[("app_id", "cli_unknown")],
            404,
            "no such",
        ),
        (
            "/console/admin/helpdesks/rotate_token",
            &[("helpdesk_id", "1")],
            404,
            "no such",
        ),
        (
            "/console/admin/users",
            &[("tenant_key", &demo.tenant_key)],
            400,
            "A name is required",
        ),
        (
            "/console/admin/events",
            &[("app_id", &demo.app_id), ("request_url", "ftp://x")],
            400,
            "URL",
        ),
    ];
    for (path, fields, status, says) in cases {
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let r = admin.post(path, &form).await;
        assert_eq!(r.status, *status, "{path}: {}", r.text);
        assert!(
            r.text.to_lowercase().contains(&says.to_lowercase()),
            "{path}: expected {says:?} in {}",
            r.text
        );
    }
}

#[tokio::test]
async fn the_queue_pages_by_position_without_repeating_a_ticket() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let token = server.demo_token().await;
    let (_, guest) = demo_user(&server, false).await;
    for _ in 0..30 {
        let r = server
            .send(
                server
                    .http
                    .post(server.url("/open-apis/helpdesk/v1/start_service"))
                    .bearer_auth(&token)
                    .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                    .body(json!({"open_id": guest}).to_string()),
            )
            .await;
        assert_eq!(r.code(), 0, "{}", r.text);
    }
    let mut agent = Browser::new(&server);
    agent.sign_in_demo_agent().await;
    let link = format!("/console/agent/helpdesks/{}/tickets/", demo.helpdesk_id);
    let mut seen = Vec::new();
    let mut next = Some("/console/agent?status=all".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = agent.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        for piece in page.text.split(&format!(r#"href="{link}"#)).skip(1) {
            seen.push(piece[..piece.find('"').unwrap()].to_owned());
        }
        next = page.text.find(r#"rel="next" href=""#).map(|at| {
            let rest = &page.text[at + 17..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        });
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 32, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 32);
    // Newest first: the new tickets' ids (snowflakes) fall, page after page; the demo's two,
    // created 5 and 90 minutes ago, come last.
    let numbers: Vec<u64> = seen[..30].iter().map(|s| s.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "{numbers:?}");
    assert_eq!(seen[30..], demo.ticket_ids[..]);
    // The open filter merges statuses in the same order: the demo's closed ticket is not in it.
    let open = agent.get("/console/agent?status=open").await;
    assert!(!open.text.contains(&demo.ticket_ids[1]));
    assert!(open.text.contains(&seen[0]));
    assert!(open.text.contains(r#"rel="next""#));
}

#[tokio::test]
async fn a_guest_clicks_through_a_lifecycle_and_the_durations_follow() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let (pick, _) = demo_user(&server, false).await;
    let mut browser = Browser::new(&server);
    let r = browser.post("/console/login/guest", &[("user", &pick)]).await;
    assert_eq!(r.header("location"), Some("/console/guest"), "{}", r.text);
    let token = browser.csrf("/console/guest").await;
    let r = browser
        .post(
            "/console/guest/start",
            &[("csrf", &token), ("helpdesk_id", &demo.helpdesk_id)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let guest_path = r.header("location").unwrap().to_owned();
    let ticket_id = guest_path.rsplit('/').next().unwrap().to_owned();
    for (action, form) in [
        ("message", vec![("content", "My printer is on fire")]),
        ("request_human", vec![]),
    ] {
        let mut fields = vec![("csrf", token.as_str())];
        fields.extend(form);
        let r = browser.post(&format!("{guest_path}/{action}"), &fields).await;
        assert_eq!(r.status, 303, "{action}: {}", r.text);
    }
    assert_page(&browser.get(&guest_path).await, 200, "My printer is on fire");

    let mut agent = Browser::new(&server);
    agent.sign_in_demo_agent().await;
    let path = format!(
        "/console/agent/helpdesks/{}/tickets/{ticket_id}",
        demo.helpdesk_id
    );
    let token = agent.csrf(&path).await;
    let page = agent.get(&path).await;
    assert!(page.text.contains(r#"id="d-first-response">—"#), "{}", page.text);
    for action in ["enter", "reply", "status", "close"] {
        let r = agent
            .post(
                &format!("{path}/{action}"),
                &[("csrf", &token), ("content", "Put it out first"), ("status", "4")],
            )
            .await;
        assert_eq!(r.status, 303, "{action}: {}", r.text);
    }
    let page = agent.get(&path).await;
    let api = server.demo_get_ticket(&ticket_id).await.json()["data"]["ticket"].clone();
    let shown = |id: &str| {
        let at = page.text.find(&format!(r#"id="{id}">"#)).unwrap() + id.len() + 6;
        page.text[at..at + page.text[at..].find('<').unwrap()].to_owned()
    };
    assert_eq!(
        shown("d-first-response"),
        format!("{}s", api["agent_first_response_duration"])
    );
    assert_eq!(
        shown("d-resolution"),
        format!("{}s", api["agent_resolution_time"])
    );
    assert!(page.text.contains("<svg class=\"timeline\""));
    // The pending span (status 4 until the close) is drawn on the paused lane.
    assert!(page.text.contains("<title>Paused: "), "{}", page.text);
    assert!(page.text.contains("status → Pending"), "{}", page.text);

    // The guest rates; a score out of range is a message.
    let token = browser.csrf(&guest_path).await;
    let r = browser
        .post(&format!("{guest_path}/rate"), &[("csrf", &token), ("score", "9")])
        .await;
    assert_page(&r, 400, "invalid score");
    let r = browser
        .post(&format!("{guest_path}/rate"), &[("csrf", &token), ("score", "3")])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let api = server.demo_get_ticket(&ticket_id).await;
    assert_eq!(api.json()["data"]["ticket"]["score"], json!(3));
    // Another guest's ticket is not found for this guest.
    let other = format!(
        "/console/guest/helpdesks/{}/tickets/{}",
        demo.helpdesk_id, demo.ticket_ids[1]
    );
    let mut someone = Browser::new(&server);
    let someone_id = server
        .admin(
            "/users",
            json!({"tenant_key": demo.tenant_key, "name": "Someone"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    someone
        .post(
            "/console/login/guest",
            &[("user", &format!("{}/{someone_id}", demo.tenant_key))],
        )
        .await;
    assert_page(&someone.get(&other).await, 404, "no such page");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_from_the_delivery_log() {
    use crate::events::{ALL, Mode, Receiver, configure, latest_delivery, subscribe};
    let desk = crate::lifecycle::Desk::with_args(&["--clock-control", "--event-retry-schedule", "15"]).await;
    let receiver = Receiver::start(None).await;
    configure(&desk, &receiver).await;
    subscribe(&desk, "/events/subscribe", &ALL[..1]).await;
    receiver.set_mode(Mode::Fail);
    desk.start(true).await;
    let attempts = || receiver.events().len();
    for _ in 0..100 {
        if attempts() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    desk.advance(15).await;
    receiver.wait_for(2).await;
    let mut failed = json!(null);
    for _ in 0..100 {
        failed = latest_delivery(&desk.server).await;
        if failed["status"] == json!("failed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(failed["status"], json!("failed"), "{failed}");
    let event_id = failed["event_id"].as_str().unwrap().to_owned();

    let mut admin = Browser::new(&desk.server);
    admin.sign_in_admin().await;
    let page = admin.get("/console/admin/events").await;
    assert_page(&page, 200, &format!("Retry event {event_id} now"));
    let token = csrf_of(&page.text);
    receiver.set_mode(Mode::Ok);
    let r = admin
        .post(
            "/console/admin/events/retry",
            &[("csrf", &token), ("event_id", &event_id)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    receiver.wait_for(3).await;
    let mut entry = json!(null);
    for _ in 0..100 {
        entry = latest_delivery(&desk.server).await;
        if entry["status"] == json!("delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(entry["status"], json!("delivered"), "{entry}");
    // A delivered event is not sent again; an unknown one is a message too.
    for id in [event_id.as_str(), "no-such-event"] {
        let r = admin
            .post(
                "/console/admin/events/retry",
                &[("csrf", &token), ("event_id", id)],
            )
            .await;
        assert_page(&r, 400, "not sent again");
    }
    assert_eq!(attempts(), 3);
}

#[tokio::test]
async fn an_agent_sets_a_customized_field_that_the_feishu_api_then_shows() {
    let server = TestServer::start().await;
    let demo = server.demo().clone();
    let token = server.demo_token().await;
    let created = server
        .send(
            server
                .http
                .post(server.url("/open-apis/helpdesk/v1/ticket_customized_fields"))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", server.demo_helpdesk_header())
                .body(
                    json!({"key_name": "order", "display_name": "Order number", "position": "1",
                           "field_type": "string", "description": "", "visible": true,
                           "editable": true, "required": false})
                    .to_string(),
                ),
        )
        .await;
    assert_eq!(created.code(), 0, "{}", created.text);
    let ticket = &demo.ticket_ids[0];
    let path = format!("/console/agent/helpdesks/{}/tickets/{ticket}", demo.helpdesk_id);
    let mut agent = Browser::new(&server);
    agent.sign_in_demo_agent().await;
    let page = agent.get(&path).await;
    assert_page(&page, 200, "Order number");
    let csrf = csrf_of(&page.text);
    // Creating a field answers no id (as on Feishu): the form names it.
    let at = page.text.find(r#"name="field:"#).expect("a field input") + 12;
    let field_id = page.text[at..at + page.text[at..].find('"').unwrap()].to_owned();
    let name = format!("field:{field_id}");
    let r = agent
        .post(&format!("{path}/fields"), &[("csrf", &csrf), (&name, "A-1234")])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let got = server.demo_get_ticket(ticket).await.json()["data"]["ticket"].clone();
    let fields = got["customized_fields"].as_array().expect("customized_fields");
    assert!(
        fields
            .iter()
            .any(|f| f["id"] == json!(field_id) && f["value"] == json!("A-1234")),
        "{got}"
    );
    assert_page(&agent.get(&path).await, 200, r#"value="A-1234""#);
}
