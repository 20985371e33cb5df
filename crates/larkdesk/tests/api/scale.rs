//! Several instances on one database: shared tokens, data and (through Redis) rate limits.
//! Redis tests run when `LARKDESK_TEST_REDIS_URL` is set (`.ci/run` and `scripts/test` set it).

use crate::common::TestServer;

fn redis_url() -> Option<String> {
    let url = std::env::var("LARKDESK_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!("LARKDESK_TEST_REDIS_URL is not set: skipping the Redis part");
    }
    url
}

/// Fire `n` GET ticket requests alternating between the instances; count the admitted ones.
async fn alternate(
    servers: &[&TestServer],
    token: &str,
    helpdesk: &str,
    ticket: &str,
    n: usize,
) -> (usize, Vec<usize>) {
    let mut admitted = 0;
    let mut limited_per_instance = vec![0; servers.len()];
    for i in 0..n {
        let which = i % servers.len();
        let r = servers[which]
            .get_ticket(ticket, Some(token), Some(helpdesk))
            .await;
        match r.status {
            200 => admitted += 1,
            429 => limited_per_instance[which] += 1,
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    (admitted, limited_per_instance)
}

#[tokio::test]
async fn ten_per_second_holds_across_two_instances_sharing_redis() {
    let Some(redis) = redis_url() else { return };
    let a = TestServer::start_with(&["--redis-url", &redis]).await;
    let b = a.another_instance(&["--redis-url", &redis]).await;
    let token = a.demo_token().await;
    let helpdesk = a.demo_helpdesk_header();
    let ticket = a.demo().ticket_ids[0].clone();
    let (admitted, limited) = alternate(&[&a, &b], &token, &helpdesk, &ticket, 30).await;
    // A burst of 10 plus at most a few refills (one per 100 ms) while the 30 requests run.
    assert!(
        (10..=14).contains(&admitted),
        "admitted {admitted} of 30 across both instances"
    );
    assert!(
        limited.iter().all(|&n| n > 0),
        "both instances refuse once the shared bucket is empty: {limited:?}"
    );
}

#[tokio::test]
async fn without_redis_each_instance_has_its_own_buckets() {
    let a = TestServer::start().await;
    let b = a.another_instance(&[]).await;
    let token = a.demo_token().await;
    let helpdesk = a.demo_helpdesk_header();
    let ticket = a.demo().ticket_ids[0].clone();
    let (admitted, _) = alternate(&[&a, &b], &token, &helpdesk, &ticket, 30).await;
    assert!(
        admitted >= 20,
        "two in-process limiters admit 10 each: {admitted}"
    );
}

#[tokio::test]
async fn a_ticket_written_through_one_instance_is_read_through_the_other() {
    let a = TestServer::start().await;
    let b = a.another_instance(&[]).await;
    let demo = a.demo().clone();
    let guest = a
        .admin(
            "/users",
            serde_json::json!({"tenant_key": demo.tenant_key, "name": "G"}),
        )
        .await;
    let token = a.demo_token().await;
    let r = a
        .send(
            a.http
                .post(a.url("/open-apis/helpdesk/v1/start_service"))
                .bearer_auth(&token)
                .header("X-Lark-Helpdesk-Authorization", a.demo_helpdesk_header())
                .body(serde_json::json!({"open_id": guest["id"], "human_service": true}).to_string()),
        )
        .await;
    let id = r.json()["data"]["ticket_id"].as_str().unwrap().to_owned();
    let read = b
        .get_ticket(&id, Some(&token), Some(&a.demo_helpdesk_header()))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["data"]["ticket"]["guest"]["id"], guest["id"]);
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_a_prompt_clear_error() {
    // Nothing listens on port 1: a misconfiguration is reported at start, not at the first request.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_larkdesk"))
            .args([
                "--database-url",
                &db,
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--redis-url",
                "redis://127.0.0.1:1",
            ])
            .output(),
    )
    .await
    .expect("larkdesk exits promptly when Redis is unreachable at start")
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to Redis"), "{stderr}");
}

/// What a [`FlakyProxy`] does with connections.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Link {
    /// Forward both ways.
    Up,
    /// Cut every open connection and refuse new ones.
    Down,
    /// Keep every connection open but forward nothing (a black-holed network).
    Stalled,
}

/// A TCP proxy in front of PostgreSQL or Redis that can "take the service down": cut every
/// connection, or keep them open and silent.
struct FlakyProxy {
    port: u16,
    link: std::sync::Arc<tokio::sync::watch::Sender<Link>>,
}

impl FlakyProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = std::sync::Arc::new(tokio::sync::watch::channel(Link::Up).0);
        let state = link.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut changes = state.subscribe();
                let now = *state.borrow();
                match now {
                    Link::Down => continue, // dropped: connection refused in effect
                    Link::Stalled => {
                        // Held open, never answered, until the link changes.
                        tokio::spawn(async move {
                            let _ = changes.wait_for(|l| *l != Link::Stalled).await;
                            drop(client);
                        });
                        continue;
                    }
                    Link::Up => {}
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                        _ = changes.wait_for(|l| *l != Link::Up) => {}
                    }
                    if *changes.borrow() == Link::Stalled {
                        let _ = changes.wait_for(|l| *l != Link::Stalled).await;
                    }
                });
            }
        });
        Self { port, link }
    }

    fn set_up(&self, up: bool) {
        self.link.send_replace(if up { Link::Up } else { Link::Down });
    }

    fn stall(&self) {
        self.link.send_replace(Link::Stalled);
    }
}

/// `host:port` of a `redis://host:port[/db]` URL.
fn redis_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_redis_outage_neither_hangs_nor_refuses_requests_and_limits_come_back() {
    let Some(redis) = redis_url() else { return };
    let proxy = FlakyProxy::start(redis_address(&redis)).await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let server = TestServer::start_with(&["--redis-url", &via_proxy]).await;
    let token = server.demo_token().await;
    let helpdesk = server.demo_helpdesk_header();
    let ticket = server.demo().ticket_ids[0].clone();
    let get = || server.get_ticket(&ticket, Some(&token), Some(&helpdesk));
    assert_eq!(get().await.status, 200);

    // Black-holed (the worst case: no error, no answer), then refused/reset: every request is
    // answered within a second, admitted (fail open), never a 5xx.
    for (outage, cut) in [("stalled", false), ("cut", true)] {
        if cut {
            proxy.set_up(false);
        } else {
            proxy.stall();
        }
        for i in 0..15 {
            let started = std::time::Instant::now();
            let r = get().await;
            let took = started.elapsed();
            assert_eq!(r.status, 200, "{outage}, request {i}: {}", r.text);
            assert!(
                took < std::time::Duration::from_secs(1),
                "{outage}, request {i} took {took:?}"
            );
        }
    }

    // Redis is back: without a restart, the shared limit applies again within a few seconds.
    proxy.set_up(true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut limited = false;
    while !limited && std::time::Instant::now() < deadline {
        for _ in 0..15 {
            if get().await.status == 429 {
                limited = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(limited, "rate limits apply again once Redis is back");
}

#[tokio::test]
async fn the_server_survives_the_database_going_away_and_coming_back() {
    if std::env::var("LARKDESK_TEST_POSTGRES_URL").is_err() {
        eprintln!("LARKDESK_TEST_POSTGRES_URL is not set: skipping");
        return;
    }
    let db = crate::common::FreshPostgres::create().await;
    let proxy = FlakyProxy::start("127.0.0.1:5432".into()).await;
    let via_proxy = db
        .url
        .replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(via_proxy, db.url, "the test database URL names 127.0.0.1:5432");
    // Without the ticket cache, so every GET needs the database.
    let server = TestServer::spawn_on(&via_proxy, &["--ticket-cache-ms", "0"]).await;
    let token = server.demo_token().await;
    let ticket = server.demo().ticket_ids[0].clone();
    let helpdesk = server.demo_helpdesk_header();
    assert_eq!(
        server
            .get_ticket(&ticket, Some(&token), Some(&helpdesk))
            .await
            .status,
        200
    );

    proxy.set_up(false);
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let r = server.get_ticket(&ticket, Some(&token), Some(&helpdesk)).await;
        crate::common::assert_feishu_error(&r, 500, 155000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "fails fast, no hang"
        );
    }

    proxy.set_up(true);
    let mut recovered = false;
    for _ in 0..50 {
        if server
            .get_ticket(&ticket, Some(&token), Some(&helpdesk))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "requests succeed again without restarting larkdesk");
    drop(server);
    drop(db);
}

#[tokio::test]
async fn a_rotated_helpdesk_token_stops_working_on_every_instance_within_a_second() {
    let a = TestServer::start().await;
    let b = a.another_instance(&[]).await;
    let demo = a.demo().clone();
    let token = a.demo_token().await;
    let old = a.demo_helpdesk_header();
    let ticket = demo.ticket_ids[0].clone();
    assert_eq!(
        b.get_ticket(&ticket, Some(&token), Some(&old)).await.status,
        200,
        "b caches the helpdesk"
    );
    a.admin(
        &format!("/helpdesks/{}/rotate_token", demo.helpdesk_id),
        serde_json::json!({}),
    )
    .await;
    // The instance that made the change forgets at once...
    crate::common::assert_feishu_error(
        &a.get_ticket(&ticket, Some(&token), Some(&old)).await,
        401,
        154001,
    );
    // ...the other one within the cache lifetime (1 s).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    crate::common::assert_feishu_error(
        &b.get_ticket(&ticket, Some(&token), Some(&old)).await,
        401,
        154001,
    );
}
