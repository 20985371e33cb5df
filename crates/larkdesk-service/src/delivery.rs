//! Event delivery: Feishu-format webhooks from the outbox, at least once.
//!
//! Each change writes its events into `event_outbox` in its own transaction (see `tickets`). A
//! worker on every instance claims due rows with a lease, POSTs them to the app's request URL,
//! and records the outcome: delivered on HTTP 200, otherwise retried on a schedule (Feishu's
//! 15 s, 5 min, 1 h, 6 h by default) and then given up. A worker that dies mid-delivery leaves
//! its lease to run out, and the row is delivered again by whoever claims it next; receivers
//! dedupe by `header.event_id`, as Feishu asks them to.
//!
//! Wire format (`docs/feishu-wire.md#event-delivery-encryption-and-signature`): compact JSON; with an encrypt key the body is
//! `{"encrypt": base64(iv || AES-256-CBC(SHA-256(key), PKCS#7))}`; every request carries
//! `X-Lark-Request-Timestamp` (s), `X-Lark-Request-Nonce` and `X-Lark-Signature` =
//! hex(SHA-256(timestamp + nonce + encrypt_key + body)) — with an empty key when none is set,
//! because the Python SDK always checks it.

use std::time::Duration;

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use larkdesk_domain::event_target;
use larkdesk_store::{Delivery, DeliveryOutcome, EventSettings};
use rand::Rng;
use sha2::{Digest, Sha256};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use larkdesk_store::prelude::*;

use crate::Clock;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Wait before retry n (after the n-th failure); its length is the number of retries.
    pub retry_schedule: Vec<Duration>,
    /// How long a claimed delivery is reserved for the worker that claimed it.
    pub lease: Duration,
    /// How often workers look for due deliveries.
    pub poll: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// May events go to loopback and private addresses (`--event-allow-private`)? Link-local and
    /// metadata addresses are refused regardless (see [`larkdesk_domain::event_target`]).
    pub allow_private: bool,
    /// Counts of the worker's outcomes, for metrics.
    pub stats: Arc<DeliveryStats>,
}

/// How the worker's delivery attempts ended, counted since the process started.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    /// Failed attempts that will be retried.
    pub retried: AtomicU64,
    /// Failed attempts after which the delivery is given up.
    pub failed: AtomicU64,
}

impl DeliveryStats {
    fn count(&self, outcome: &DeliveryOutcome) {
        let counter = match outcome {
            DeliveryOutcome::Delivered { .. } => &self.delivered,
            DeliveryOutcome::Retry { .. } => &self.retried,
            DeliveryOutcome::Failed { .. } => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry_schedule: [15, 300, 3600, 21600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            timeout: Duration::from_secs(3),
            allow_private: false,
            stats: Arc::default(),
        }
    }
}

/// `base64(iv || AES-256-CBC(SHA-256(key), plaintext))` with a random IV.
pub fn encrypt(encrypt_key: &str, plaintext: &str) -> String {
    let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv);
    let ciphertext =
        Aes256CbcEnc::new(&key.into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    let mut out = iv.to_vec();
    out.extend_from_slice(&ciphertext);
    base64::engine::general_purpose::STANDARD.encode(out)
}

pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(timestamp.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(encrypt_key.as_bytes());
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// The exact body and headers of a push of `plaintext` (an envelope or a challenge).
pub fn signed_request(
    settings: &EventSettings,
    plaintext: &str,
    now_secs: i64,
) -> (String, Vec<(&'static str, String)>) {
    let key = settings.encrypt_key.as_deref().unwrap_or("");
    let body = match settings.encrypt_key.as_deref() {
        Some(k) => serde_json::json!({ "encrypt": encrypt(k, plaintext) }).to_string(),
        None => plaintext.to_owned(),
    };
    let timestamp = now_secs.to_string();
    let nonce = rand::rng()
        .random_range(1_000_000_000u64..10_000_000_000)
        .to_string();
    let sig = signature(&timestamp, &nonce, key, &body);
    let headers = vec![
        ("content-type", "application/json; charset=utf-8".to_owned()),
        ("x-lark-request-timestamp", timestamp),
        ("x-lark-request-nonce", nonce),
        ("x-lark-signature", sig),
        ("x-request-id", larkdesk_domain::ids::new_event_id()),
    ];
    (body, headers)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Check an event request URL before anything is sent to it: `http(s)` only, no `user:pass@`
/// (it would become Basic auth), and an address literal (in any spelling the URL standard
/// accepts: `127.1`, `0x7f000001`, `2130706433`, `[::ffff:7f00:1]`, … all parse to the address
/// they mean) must be one event delivery may reach. Host names are checked when they are
/// resolved, by the client's resolver (see [`http_client`]), so the address checked is the
/// address connected to.
pub fn check_target(url: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "request_url is not a valid URL".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("request_url must be an http(s) URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("request_url must not carry credentials (user:pass@)".into());
    }
    let ip = match parsed.host() {
        None => return Err("request_url has no host".into()),
        Some(url::Host::Domain(_)) => return Ok(parsed),
        Some(url::Host::Ipv4(v4)) => std::net::IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => std::net::IpAddr::V6(v6),
    };
    if event_target::allowed(ip, allow_private) {
        Ok(parsed)
    } else {
        Err(refused(ip, allow_private))
    }
}

fn refused(ip: std::net::IpAddr, allow_private: bool) -> String {
    match event_target::classify(ip) {
        event_target::TargetClass::Private if !allow_private => format!(
            "request_url reaches {ip}, a loopback or private address: allowed only when the server runs with --event-allow-private"
        ),
        _ => format!("request_url reaches {ip}, an address event delivery never sends to"),
    }
}

/// Resolves a request URL's host once and keeps only the addresses event delivery may reach;
/// the connection is made to those, so a name cannot be re-pointed between check and use.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<std::net::SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| event_target::allowed(a.ip(), allow_private))
                .collect();
            match (allowed.is_empty(), resolved.first()) {
                (false, _) => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
                (true, Some(first)) => Err(refused(first.ip(), allow_private).into()),
                (true, None) => Err(format!("{host} does not resolve").into()),
            }
        })
    }
}

/// Why a request failed, without the receiver's words: its answer is never repeated to whoever
/// set the URL (no reading internal services through error messages).
fn request_error(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.starts_with("request_url ") {
            return text;
        }
        source = cause.source();
    }
    if e.is_timeout() {
        "request failed: the receiver did not answer in time".into()
    } else if e.is_connect() {
        "request failed: could not connect".into()
    } else {
        "request failed".into()
    }
}

/// POST `plaintext` to the app's request URL; the receiver's answer body on HTTP 200. Redirects
/// are not followed (a 3xx is a failure). Errors never include the receiver's answer.
pub async fn push(
    client: &reqwest::Client,
    settings: &EventSettings,
    plaintext: &str,
    allow_private: bool,
) -> Result<String, String> {
    let url = check_target(&settings.request_url, allow_private)?;
    let (body, headers) = signed_request(settings, plaintext, unix_now());
    let mut request = client.post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| request_error(&e))?;
    let status = response.status();
    if status == reqwest::StatusCode::OK {
        Ok(response.text().await.unwrap_or_default())
    } else {
        Err(format!("the receiver answered HTTP {}", status.as_u16()))
    }
}

/// Feishu's URL verification: the receiver must echo the challenge.
pub async fn verify_url(
    client: &reqwest::Client,
    settings: &EventSettings,
    allow_private: bool,
) -> Result<(), String> {
    let challenge = larkdesk_domain::ids::new_event_id();
    let plaintext = serde_json::json!({
        "challenge": challenge,
        "token": settings.verification_token,
        "type": "url_verification",
    })
    .to_string();
    let answer = push(client, settings, &plaintext, allow_private).await?;
    let echoed: Option<String> = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v.get("challenge").and_then(|c| c.as_str()).map(str::to_owned));
    if echoed.as_deref() == Some(challenge.as_str()) {
        Ok(())
    } else {
        Err("the URL answered HTTP 200 without echoing the challenge".into())
    }
}

pub fn http_client(config: &DeliveryConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(config.timeout)
        // `X-Lark-Signature`, not `x-lark-signature`: lark-oapi looks headers up case-sensitively.
        .http1_title_case_headers()
        .user_agent(concat!("larkdesk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name itself, past the resolver's check.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: config.allow_private,
        }))
        .build()
        .expect("a TLS backend is compiled in")
}

async fn deliver_one(
    store: &dyn Store,
    clock: &Clock,
    client: &reqwest::Client,
    config: &DeliveryConfig,
    delivery: Delivery,
) {
    let result = match store.event_settings(delivery.app).await {
        Ok(Some(settings)) => push(client, &settings, &delivery.body, config.allow_private)
            .await
            .map(drop),
        Ok(None) => Err("the app has no event request URL".to_owned()),
        Err(e) => {
            // Leave the lease to run out; the delivery is retried when the database is back.
            tracing::warn!(error = %e, "event delivery: database unavailable");
            return;
        }
    };
    let now = clock.now_ms();
    let outcome = match result {
        Ok(()) => DeliveryOutcome::Delivered { at_ms: now },
        Err(error) => match config.retry_schedule.get(delivery.attempts as usize) {
            Some(wait) => DeliveryOutcome::Retry {
                at_ms: now + wait.as_millis() as i64,
                error,
            },
            None => DeliveryOutcome::Failed { error },
        },
    };
    tracing::debug!(event_id = %delivery.event_id, event_type = %delivery.event_type, ?outcome, "event delivery");
    config.stats.count(&outcome);
    if let Err(e) = store.finish_delivery(delivery.id, &outcome).await {
        tracing::warn!(error = %e, "event delivery: outcome not recorded; it will be delivered again");
    }
}

/// Run the delivery worker until the process ends.
/// Deliver a pending or failed event again now (the console's delivery log).
pub async fn retry(store: &dyn Store, clock: &Clock, event_id: &str) -> crate::Result<()> {
    if store.retry_delivery(event_id, clock.now_ms()).await? {
        Ok(())
    } else {
        Err(crate::Error::invalid(format!(
            "no pending or failed delivery of event {event_id}: delivered ones are not sent again"
        )))
    }
}

pub async fn run(store: Arc<dyn Store>, clock: Clock, config: DeliveryConfig) {
    let client = http_client(&config);
    loop {
        let claimed = store
            .claim_deliveries(clock.now_ms(), config.lease.as_millis() as i64, 32)
            .await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                // Receivers are slow independently: deliver the batch concurrently.
                let mut sends = tokio::task::JoinSet::new();
                for delivery in batch {
                    let (store, clock) = (store.clone(), clock.clone());
                    let (client, config) = (client.clone(), config.clone());
                    sends
                        .spawn(async move { deliver_one(&*store, &clock, &client, &config, delivery).await });
                }
                while sends.join_next().await.is_some() {}
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "event delivery: cannot claim deliveries"),
        }
        tokio::time::sleep(config.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockDecryptMut;

    type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

    #[test]
    fn encryption_round_trips_with_the_feishu_key_derivation() {
        let body = r#"{"schema":"2.0"}"#;
        let sealed = encrypt("my-key", body);
        let raw = base64::engine::general_purpose::STANDARD.decode(sealed).unwrap();
        let key: [u8; 32] = Sha256::digest(b"my-key").into();
        let iv: [u8; 16] = raw[..16].try_into().unwrap();
        let plain = Aes256CbcDec::new(&key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&raw[16..])
            .unwrap();
        assert_eq!(plain, body.as_bytes());
        assert_ne!(encrypt("my-key", body), encrypt("my-key", body), "random IV");
    }

    #[test]
    fn targets_are_checked_in_every_spelling() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://127.1/x",
            "http://0x7f000001/x",
            "http://2130706433/x",
            "http://0177.0.0.1/x",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://10.0.0.1/x",
        ] {
            assert!(check_target(url, false).is_err(), "{url}");
            assert!(check_target(url, true).is_ok(), "{url}");
        }
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://0xa9fea9fe/",
            "http://0.0.0.0:8080/",
            "http://0/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
        ] {
            assert!(check_target(url, true).is_err(), "{url}");
        }
        for url in [
            "http://user:pass@example.com/",
            "http://user@example.com/",
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "http://",
        ] {
            assert!(check_target(url, true).is_err(), "{url}");
        }
        assert!(check_target("https://example.com/events", false).is_ok());
        assert!(check_target("http://93.184.216.34/events", false).is_ok());
    }

    #[test]
    fn signature_is_sha256_of_the_concatenation() {
        // sha256("1" + "2" + "k" + "{}")
        let expected = hex::encode(Sha256::digest(b"12k{}"));
        assert_eq!(signature("1", "2", "k", "{}"), expected);
    }

    #[test]
    fn signed_request_encrypts_only_with_a_key() {
        let plain = EventSettings {
            request_url: String::new(),
            verification_token: "v".into(),
            encrypt_key: None,
        };
        let (body, headers) = signed_request(&plain, "{}", 5);
        assert_eq!(body, "{}");
        let get = |h: &[(&str, String)], n: &str| h.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get(&headers, "x-lark-request-timestamp"), "5");
        let nonce = get(&headers, "x-lark-request-nonce");
        assert_eq!(
            get(&headers, "x-lark-signature"),
            signature("5", &nonce, "", "{}")
        );

        let sealed = EventSettings {
            encrypt_key: Some("k".into()),
            ..plain
        };
        let (body, headers) = signed_request(&sealed, "{}", 5);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(parsed["encrypt"].is_string() && parsed.as_object().unwrap().len() == 1);
        assert!(!body.contains(' '), "compact JSON");
        let nonce = get(&headers, "x-lark-request-nonce");
        assert_eq!(
            get(&headers, "x-lark-signature"),
            signature("5", &nonce, "k", &body)
        );
    }
}
