//! Event pushes: url_verification, subscriptions, envelopes, signatures, encryption, retries and
//! redelivery after a crash. A small axum server in the test plays the app's receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{TestServer, assert_admin_error, assert_feishu_error};
use crate::lifecycle::Desk;
use crate::ops::sample;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Ok,
    Fail,
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    timestamp: String,
    nonce: String,
    signature: String,
    content_type: String,
    body: String,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    encrypt_key: Option<String>,
}

fn decrypt(key: &str, sealed: &str) -> String {
    let raw = base64::engine::general_purpose::STANDARD.decode(sealed).unwrap();
    let key: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let iv: [u8; 16] = raw[..16].try_into().unwrap();
    let plain = cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&raw[16..])
        .unwrap();
    String::from_utf8(plain).unwrap()
}

impl Receiver {
    pub(crate) async fn start(encrypt_key: Option<&str>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/webhook", listener.local_addr().unwrap()),
            got: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            encrypt_key: encrypt_key.map(str::to_owned),
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/webhook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    state.got.lock().unwrap().push(Received {
                        timestamp: h("x-lark-request-timestamp"),
                        nonce: h("x-lark-request-nonce"),
                        signature: h("x-lark-signature"),
                        content_type: h("content-type"),
                        body: body.clone(),
                    });
                    let plain = state.plaintext(&body);
                    let mode = *state.mode.lock().unwrap();
                    if plain["type"] == "url_verification" {
                        return (
                            axum::http::StatusCode::OK,
                            json!({"challenge": plain["challenge"]}).to_string(),
                        );
                    }
                    match mode {
                        Mode::Ok => (axum::http::StatusCode::OK, "{}".to_owned()),
                        Mode::Fail => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "nope".to_owned()),
                        Mode::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            (axum::http::StatusCode::OK, "{}".to_owned())
                        }
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn plaintext(&self, body: &str) -> Value {
        let outer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        match (&self.encrypt_key, outer.get("encrypt").and_then(Value::as_str)) {
            (Some(key), Some(sealed)) => serde_json::from_str(&decrypt(key, sealed)).unwrap(),
            _ => outer,
        }
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Decrypted events received so far (challenges excluded).
    pub(crate) fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|r| self.plaintext(&r.body))
            .filter(|v| v.get("schema").is_some())
            .collect()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let events = self.events();
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} events, got {:?}", self.events());
    }
}

pub(crate) async fn configure(desk: &Desk, receiver: &Receiver) -> Value {
    let mut body = json!({"request_url": receiver.url, "verification_token": "vtoken"});
    if let Some(key) = &receiver.encrypt_key {
        body["encrypt_key"] = json!(key);
    }
    let r = desk
        .server
        .admin_request(Method::PUT, &format!("/apps/{}/events", desk.app_id), body)
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    r.json()["data"].clone()
}

pub(crate) async fn subscribe(desk: &Desk, path: &str, pairs: &[(&str, &str)]) -> crate::common::Response {
    let events: Vec<Value> = pairs
        .iter()
        .map(|(t, s)| json!({"type": t, "subtype": s}))
        .collect();
    desk.server
        .send(
            desk.feishu(Method::POST, path)
                .body(json!({"events": events}).to_string()),
        )
        .await
}

pub(crate) const ALL: &[(&str, &str)] = &[
    ("helpdesk.ticket", "ticket.created_v1"),
    ("helpdesk.ticket", "ticket.updated_v1"),
    ("helpdesk.ticket_message", "ticket_message.created_v1"),
];

#[tokio::test]
async fn url_verification_is_required_to_set_a_request_url() {
    let desk = Desk::new().await;
    let receiver = Receiver::start(None).await;
    configure(&desk, &receiver).await;
    let first = receiver.got.lock().unwrap()[0].clone();
    let challenge: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(challenge["type"], json!("url_verification"));
    assert_eq!(challenge["token"], json!("vtoken"));
    assert!(challenge["challenge"].is_string());

    // A URL that does not answer the challenge is refused.
    let r = desk
        .server
        .admin_request(
            Method::PUT,
            &format!("/apps/{}/events", desk.app_id),
            json!({"request_url": "http://127.0.0.1:1/x"}),
        )
        .await;
    assert_admin_error(&r, 400, 154000);
    let r = desk
        .server
        .admin_request(
            Method::PUT,
            &format!("/apps/{}/events", desk.app_id),
            json!({"request_url": "ftp://x"}),
        )
        .await;
    assert_admin_error(&r, 400, 154000);
}

#[tokio::test]
async fn lifecycle_changes_push_signed_feishu_events_to_subscribers_only() {
    let desk = Desk::new().await;
    let receiver = Receiver::start(None).await;
    configure(&desk, &receiver).await;
    // Not subscribed yet: nothing is pushed.
    let quiet = desk.start(true).await;
    desk.act(&quiet, "guest_message", json!({"content": "x"})).await;

    let r = subscribe(&desk, "/events/subscribe", ALL).await;
    assert_eq!((r.status, r.code()), (200, 0), "{}", r.text);
    assert_eq!(r.json()["data"], json!({}));
    for bad in [
        json!({}),
        json!({"events": []}),
        json!({"events": [{"type": "helpdesk.ticket"}]}),
        json!({"events": [{"type": "im.message", "subtype": "receive_v1"}]}),
    ] {
        let r = desk
            .server
            .send(
                desk.feishu(Method::POST, "/events/subscribe")
                    .body(bad.to_string()),
            )
            .await;
        assert_feishu_error(&r, 400, 154000);
    }

    let id = desk.start(true).await;
    desk.advance(5).await;
    desk.act(&id, "agent_enter", json!({"agent_id": desk.agent_a}))
        .await;
    desk.act(&id, "guest_message", json!({"content": "help"})).await;
    // Deliveries run concurrently, so arrival order is not guaranteed (nor is it on Feishu).
    let mut events = receiver.wait_for(3).await;
    events.sort_by_key(|e| e["header"]["event_type"].as_str().unwrap().to_owned());
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["header"]["event_type"].as_str().unwrap())
        .collect();
    // The guest's message changes nothing but the message list: no ticket update for it.
    assert_eq!(
        types,
        [
            "helpdesk.ticket.created_v1",
            "helpdesk.ticket.updated_v1",
            "helpdesk.ticket_message.created_v1"
        ]
    );

    let created = &events[0];
    assert_eq!(created["schema"], json!("2.0"));
    let header = &created["header"];
    assert_eq!(header["token"], json!("vtoken"));
    assert_eq!(header["app_id"], json!(desk.app_id));
    assert_eq!(header["tenant_key"], json!(desk.tenant_key));
    assert!(header["event_id"].as_str().unwrap().len() == 32);
    assert!(
        header["create_time"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000_000,
        "ms as a string"
    );
    let body = &created["event"];
    assert_eq!(body["ticket_id"], json!(id));
    assert_eq!(body["guest"]["id"]["open_id"], json!(desk.guest));
    assert_eq!(body["guest"]["name"], json!("Guest"));
    assert_eq!(
        (body["stage"].clone(), body["status"].clone()),
        (json!(2), json!(3))
    );
    assert!(body["chat_id"].as_str().unwrap().starts_with("oc_"));

    let updated = &events[1]["event"];
    assert_eq!(updated["object"]["status"], json!(2));
    assert_eq!(
        updated["object"]["agents"][0]["id"]["open_id"],
        json!(desk.agent_a)
    );
    assert_eq!(updated["old_object"]["status"], json!(3));
    assert_eq!(updated["old_object"]["updated_at"], json!(-1));

    let message = &events[2]["event"];
    assert_eq!(
        (
            message["sender_type"].clone(),
            message["text"].clone(),
            message["position"].clone()
        ),
        (json!(2), json!("help"), json!("1"))
    );
    assert_eq!(message["ticket"]["ticket_id"], json!(id));
    // The message event's event_id answers the FAQ endpoint.
    let r = desk
        .server
        .send(desk.feishu(Method::GET, &format!("/tickets/{id}/messages")))
        .await;
    assert_eq!(
        r.json()["data"]["messages"][0]["id"],
        message["ticket_message_id"]
    );

    // Every request is signed over the exact body, with an empty key when none is set.
    for r in receiver.got.lock().unwrap().iter() {
        let expected = hex::encode(Sha256::digest(
            format!("{}{}{}", r.timestamp, r.nonce, r.body).as_bytes(),
        ));
        assert_eq!(r.signature, expected);
        assert_eq!(r.content_type, "application/json; charset=utf-8");
        assert!(!r.body.contains(": "), "compact JSON");
    }
    // No events for the ticket opened before subscribing.
    assert!(events.iter().all(
        |e| e["event"]["ticket_id"] != json!(quiet) && e["event"]["object"]["ticket_id"] != json!(quiet)
    ));

    // Unsubscribed: no more pushes.
    let r = subscribe(&desk, "/events/unsubscribe", ALL).await;
    assert_eq!(r.code(), 0);
    desk.act(&id, "close", json!({"by": "user"})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.events().len(), 3);
}

#[tokio::test]
async fn encrypted_events_decrypt_with_the_encrypt_key() {
    let desk = Desk::new().await;
    let receiver = Receiver::start(Some("my-encrypt-key")).await;
    configure(&desk, &receiver).await;
    subscribe(&desk, "/events/subscribe", ALL).await;
    desk.start(true).await;
    let events = receiver.wait_for(1).await;
    assert_eq!(
        events[0]["header"]["event_type"],
        json!("helpdesk.ticket.created_v1")
    );
    let got = receiver.got.lock().unwrap().clone();
    for r in &got {
        let outer: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            outer.as_object().unwrap().len(),
            1,
            "only {{\"encrypt\"}} on the wire: {}",
            r.body
        );
        let expected = hex::encode(Sha256::digest(
            format!("{}{}my-encrypt-key{}", r.timestamp, r.nonce, r.body).as_bytes(),
        ));
        assert_eq!(r.signature, expected);
    }
}

pub(crate) async fn latest_delivery(server: &TestServer) -> Value {
    server
        .send(
            server
                .http
                .get(server.url("/larkdesk/admin/v1/event_deliveries"))
                .bearer_auth(&server.admin_token),
        )
        .await
        .json()["data"]["deliveries"][0]
        .clone()
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_schedule_then_given_up() {
    let desk = Desk::with_args(&["--clock-control", "--event-retry-schedule", "15,300"]).await;
    let receiver = Receiver::start(None).await;
    configure(&desk, &receiver).await;
    subscribe(&desk, "/events/subscribe", &ALL[..1]).await;
    receiver.set_mode(Mode::Fail);
    desk.start(true).await;
    let attempts = |r: &Receiver| {
        r.got
            .lock()
            .unwrap()
            .iter()
            .filter(|x| !x.body.contains("url_verification"))
            .count()
    };
    for _ in 0..100 {
        if attempts(&receiver) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attempts(&receiver), 1);
    // Not retried before its time...
    desk.advance(14).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(attempts(&receiver), 1);
    let entry = latest_delivery(&desk.server).await;
    assert_eq!(
        (entry["status"].clone(), entry["attempts"].clone()),
        (json!("pending"), json!(1))
    );
    assert!(entry["last_error"].as_str().unwrap().contains("500"));
    let metrics = crate::ops::get(&desk.server, "/metrics").await.text;
    let deliveries = |text: &str, result: &str| {
        sample(
            text,
            &format!("larkdesk_event_deliveries_total{{result=\"{result}\"}}"),
        )
    };
    assert_eq!(deliveries(&metrics, "retried"), 1.0, "{metrics}");
    assert_eq!(deliveries(&metrics, "failed"), 0.0, "{metrics}");
    assert_eq!(sample(&metrics, "larkdesk_outbox_pending"), 1.0, "{metrics}");
    // ...then retried after 15 s, and after 300 s more given up.
    desk.advance(1).await;
    receiver.wait_for(2).await;
    desk.advance(300).await;
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let entry = latest_delivery(&desk.server).await;
    assert_eq!(
        (entry["status"].clone(), entry["attempts"].clone()),
        (json!("failed"), json!(3))
    );
    let metrics = crate::ops::get(&desk.server, "/metrics").await.text;
    assert_eq!(deliveries(&metrics, "retried"), 2.0, "{metrics}");
    assert_eq!(deliveries(&metrics, "failed"), 1.0, "{metrics}");
    assert_eq!(deliveries(&metrics, "delivered"), 0.0, "{metrics}");
    assert_eq!(sample(&metrics, "larkdesk_outbox_pending"), 0.0, "{metrics}");
    desk.advance(100_000).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(attempts(&receiver), 3, "no attempts after giving up");
}

#[tokio::test]
async fn an_event_in_flight_when_the_server_dies_is_delivered_after_restart() {
    let server = TestServer::start_with(&["--event-lease-secs", "1", "--event-timeout-secs", "60"]).await;
    let demo = server.demo().clone();
    let receiver = Receiver::start(None).await;
    let r = server
        .admin_request(
            Method::PUT,
            &format!("/apps/{}/events", demo.app_id),
            json!({"request_url": receiver.url}),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let token = server.demo_token().await;
    let header = server.demo_helpdesk_header();
    let r = server
        .send(
            server
                .http
                .post(server.url("/open-apis/helpdesk/v1/events/subscribe"))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &header)
                .body(
                    json!({"events": [{"type": "helpdesk.ticket", "subtype": "ticket.updated_v1"}]})
                        .to_string(),
                ),
        )
        .await;
    assert_eq!(r.code(), 0);
    receiver.set_mode(Mode::Hang);
    let ticket = demo.ticket_ids[0].clone();
    let r = server
        .send(
            server
                .http
                .put(server.url(&format!("/open-apis/helpdesk/v1/tickets/{ticket}")))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", &header)
                .body(json!({"tag_names": ["crash"]}).to_string()),
        )
        .await;
    assert_eq!(r.code(), 0, "{}", r.text);
    let first = receiver.wait_for(1).await;
    let event_id = first[0]["header"]["event_id"].clone();

    // Kill the server while the receiver holds the delivery open, then start a new one.
    let mut server = server;
    server.kill().await;
    receiver.set_mode(Mode::Ok);
    let restarted = TestServer::spawn_on(&server.db_url, &["--event-lease-secs", "1"]).await;
    let events = receiver.wait_for(2).await;
    assert_eq!(
        events[1]["header"]["event_id"], event_id,
        "the same event, delivered again"
    );
    for _ in 0..100 {
        if latest_delivery(&restarted).await["status"] == json!("delivered") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery was not recorded as delivered");
}

/// A target that answers every request with `status`, `body` and, when given, a `Location`.
async fn fixed_target(
    status: u16,
    body: &'static str,
    location: Option<String>,
) -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(0usize));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let (location, counted) = (location.clone(), counted.clone());
        async move {
            *counted.lock().unwrap() += 1;
            let mut response = axum::response::IntoResponse::into_response((
                axum::http::StatusCode::from_u16(status).unwrap(),
                body,
            ));
            if let Some(to) = location {
                response.headers_mut().insert("location", to.parse().unwrap());
            }
            response
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

async fn set_url(desk: &Desk, url: &str) -> crate::common::Response {
    desk.server
        .admin_request(
            Method::PUT,
            &format!("/apps/{}/events", desk.app_id),
            json!({"request_url": url}),
        )
        .await
}

/// Issue 22 item 8: without `--event-allow-private`, no spelling of a loopback or private
/// address is reached; metadata and link-local never are.
#[tokio::test]
async fn event_urls_may_not_reach_private_addresses_in_any_spelling() {
    let desk = Desk::with_args(&[crate::common::STRICT_EVENT_TARGETS]).await;
    let receiver = Receiver::start(None).await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for host in [
        "127.0.0.1",
        "127.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "localhost",
        "169.254.169.254",
    ] {
        let r = set_url(&desk, &format!("http://{host}:{port}/webhook")).await;
        assert_admin_error(&r, 400, 154000);
    }
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
}

/// Issue 22 item 8, with private targets allowed (demo/dev): credentials in the URL are refused,
/// metadata stays out of reach, redirects are not followed and the target's answer is never
/// repeated in the admin API's error.
#[tokio::test]
async fn event_urls_follow_no_redirect_carry_no_credentials_and_echo_nothing() {
    let desk = Desk::new().await;
    let receiver = Receiver::start(None).await;
    let with_user = receiver.url.replacen("http://", "http://user:pass@", 1);
    for url in [
        with_user.as_str(),
        "http://169.254.169.254/latest/meta-data/",
        "http://0xa9fea9fe/",
    ] {
        let r = set_url(&desk, url).await;
        assert_admin_error(&r, 400, 154000);
    }
    assert!(receiver.got.lock().unwrap().is_empty());

    // A redirect to a receiver that would answer the challenge is not followed.
    let (redirect, hits) = fixed_target(307, "", Some(receiver.url.clone())).await;
    let r = set_url(&desk, &redirect).await;
    assert_admin_error(&r, 400, 154000);
    assert_eq!(*hits.lock().unwrap(), 1);
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "the redirect was followed"
    );

    // What the target answers stays with the target.
    for status in [200, 500] {
        let (url, _) = fixed_target(status, "INTERNAL-SECRET-7f3a", None).await;
        let r = set_url(&desk, &url).await;
        assert_admin_error(&r, 400, 154000);
        assert!(!r.text.contains("INTERNAL-SECRET"), "{}", r.text);
    }
    // The allowed receiver still verifies.
    configure(&desk, &receiver).await;
}
