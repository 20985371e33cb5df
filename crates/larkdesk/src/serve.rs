//! `larkdesk serve`.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use larkdesk_api::ratelimit::{Overrides, RateLimits};
use larkdesk_service::{Clock, console, delivery};
use larkdesk_store::Store;
use serde_json::json;

/// Longest `--ticket-cache-ms`: a day. The TTL bounds how stale another instance's writes may be
/// seen here; longer is a mistake in the setting, and a bound keeps expiry arithmetic far from
/// overflow.
const MAX_TICKET_CACHE_MS: u64 = 24 * 60 * 60 * 1000;

/// Requests kept per app by the journal when the demo profile is on.
const DEMO_JOURNAL: usize = 100;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT or HOST:PORT (localhost:8080); port 0 picks a free one.
    #[arg(long, env = "LARKDESK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,

    /// Turn all rate limits off (for benchmarks).
    #[arg(long, env = "LARKDESK_NO_RATE_LIMIT")]
    no_rate_limit: bool,

    /// Count nothing for and serve no `GET /metrics` (for measuring what metrics cost).
    #[arg(long, env = "LARKDESK_NO_METRICS")]
    no_metrics: bool,

    /// Override one endpoint's per-second limit, e.g. get_ticket=20 (0 = unlimited). Repeatable;
    /// the variable takes a comma-separated list.
    #[arg(
        long = "rate-limit",
        env = "LARKDESK_RATE_LIMIT",
        value_delimiter = ',',
        value_parser = RateLimits::parse_override
    )]
    rate_limits: Vec<(&'static str, u32)>,

    /// Share rate limits with other instances through this Redis (e.g. redis://127.0.0.1:6379);
    /// without it, limits are kept in process.
    #[arg(long, env = "LARKDESK_REDIS_URL")]
    redis_url: Option<String>,

    /// Allow moving the clock forward through the admin API (tests, emulation).
    #[arg(long, env = "LARKDESK_CLOCK_CONTROL")]
    clock_control: bool,

    /// Use this admin token (otherwise one is generated at first start and printed once).
    #[arg(long, env = "LARKDESK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// Do not create the demo tenant/app/helpdesk on an empty database.
    #[arg(long, env = "LARKDESK_NO_DEMO")]
    no_demo: bool,

    /// How long a rendered ticket, a rendered ticket list page or a list's total may be served
    /// from memory before re-reading it; bounds how long another instance's write can go unseen
    /// here (writes through this instance are seen at once; 0 = no cache; at most a day).
    #[arg(
        long,
        env = "LARKDESK_TICKET_CACHE_MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(..=MAX_TICKET_CACHE_MS)
    )]
    ticket_cache_ms: u64,

    /// Do not run the event delivery worker on this instance (another instance delivers).
    #[arg(long, env = "LARKDESK_NO_EVENT_DELIVERY")]
    no_event_delivery: bool,

    /// Seconds to wait before each event delivery retry; their count is the number of retries.
    #[arg(
        long,
        env = "LARKDESK_EVENT_RETRY_SCHEDULE",
        value_delimiter = ',',
        default_value = "15,300,3600,21600"
    )]
    event_retry_schedule: Vec<u64>,

    /// Seconds a claimed delivery stays reserved for its worker (redelivered after a crash).
    #[arg(long, env = "LARKDESK_EVENT_LEASE_SECS", default_value_t = 30)]
    event_lease_secs: u64,

    /// Seconds an event receiver has to answer.
    #[arg(long, env = "LARKDESK_EVENT_TIMEOUT_SECS", default_value_t = 3)]
    event_timeout_secs: u64,

    /// Let event request URLs reach loopback and private addresses (10/8, 172.16/12, 192.168/16,
    /// 127/8, ::1, fc00::/7, …): for demo and development setups whose receiver runs beside
    /// larkdesk. Link-local and cloud metadata addresses are refused regardless.
    #[arg(long, env = "LARKDESK_EVENT_ALLOW_PRIVATE")]
    event_allow_private: bool,

    /// Milliseconds a client has to send a request body once its headers are in (else 408).
    #[arg(long, env = "LARKDESK_BODY_TIMEOUT_MS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=600_000))]
    body_timeout_ms: u64,

    /// MiB of request bodies held in memory at once, over all connections (past it, 503).
    #[arg(long, env = "LARKDESK_BODY_MEMORY_MIB", default_value_t = 64,
        value_parser = clap::value_parser!(u64).range(1..=65_536))]
    body_memory_mib: u64,

    /// KiB of request bodies one tenant's API calls have in process at once; more wait their
    /// turn, so that one tenant sending the largest bodies cannot hold up the others (0: no turns).
    #[arg(long, env = "LARKDESK_TENANT_BODY_KIB",
        default_value_t = (larkdesk_api::body::DEFAULT_TENANT_SHARE_BYTES / 1024) as u64,
        value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    tenant_body_kib: u64,

    /// Also write the credentials created at start (demo, admin token) to this JSON file.
    #[arg(long, env = "LARKDESK_CREDENTIALS_FILE")]
    credentials_file: Option<std::path::PathBuf>,

    /// Keep the last N requests of each app in memory for `GET /larkdesk/admin/v1/journal` and
    /// `larkdesk admin journal` (secrets redacted; 0 = off). Default: 100 unless --no-demo
    /// (the production profile), where it is off.
    #[arg(long, env = "LARKDESK_JOURNAL")]
    journal: Option<usize>,

    /// Seconds a web console session lasts (`/console`); sessions also end at restart.
    #[arg(long, env = "LARKDESK_CONSOLE_SESSION_SECS", default_value_t = larkdesk_api::console::DEFAULT_SESSION_SECS,
        value_parser = clap::value_parser!(u64).range(1..=30 * 24 * 60 * 60))]
    console_session_secs: u64,

    /// Seconds open requests get to finish after SIGTERM/Ctrl-C before their connections are
    /// closed (below Docker's 10 s default stop timeout).
    #[arg(long, env = "LARKDESK_SHUTDOWN_GRACE_SECS", default_value_t = 8)]
    shutdown_grace_secs: u64,
}

pub async fn run(store: Arc<dyn Store>, args: ServeArgs) -> anyhow::Result<()> {
    let clock = if args.clock_control {
        Clock::controllable()
    } else {
        Clock::system()
    };
    let overrides: Overrides = args.rate_limits.into_iter().collect();
    let limits = match &args.redis_url {
        Some(url) => RateLimits::redis(url, !args.no_rate_limit, &overrides).await?,
        None => RateLimits::new(!args.no_rate_limit, &overrides),
    };

    // Listen first: a start that cannot have its port creates no credentials it could not show.
    let listener = tokio::net::TcpListener::bind(args.bind.as_str())
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");

    let mut created = serde_json::Map::new();
    match &args.admin_token {
        Some(token) => console::set_admin_token(&*store, token).await?,
        None if !console::has_admin_token(&*store).await? => {
            created.insert(
                "admin_token".into(),
                json!(console::rotate_admin_token(&*store).await?),
            );
        }
        None => {}
    }
    let demo = if !args.no_demo && store.is_empty().await? {
        Some(console::seed_demo(&*store, clock.now_ms()).await?)
    } else {
        None
    };

    let ticket_cache_ttl = std::time::Duration::from_millis(args.ticket_cache_ms);
    let journal = args
        .journal
        .unwrap_or(if args.no_demo { 0 } else { DEMO_JOURNAL });
    let bodies = larkdesk_api::body::Bodies::new(
        std::time::Duration::from_millis(args.body_timeout_ms),
        usize::try_from(args.body_memory_mib * 1024 * 1024)?,
        usize::try_from(args.tenant_body_kib * 1024)?,
    );
    let options = larkdesk_api::Options {
        ticket_cache_ttl,
        event_allow_private: args.event_allow_private,
        journal_capacity: journal,
        bodies,
        metrics: !args.no_metrics,
    };
    let state = larkdesk_api::AppState::new(store.clone(), limits, clock.clone(), options).await?;
    // Demo mode (the default profile): agents sign in to the console by picking one, and the
    // guest view is on.
    state.console.set_demo(!args.no_demo);
    state
        .console
        .set_ttl(std::time::Duration::from_secs(args.console_session_secs));

    if let Some(demo) = &demo {
        created.insert("demo".into(), serde_json::to_value(demo)?);
        print_demo(&base, demo);
    }
    if let Some(token) = created.get("admin_token").and_then(|t| t.as_str()) {
        println!("Admin API token (shown once): {token}");
    }
    if let Some(path) = &args.credentials_file {
        created.insert("base_url".into(), json!(base));
        write_private(path, &serde_json::to_vec_pretty(&created)?)?;
    }
    // Tickets waiting for an agent whose schedule opens as time passes: checked every 30 s
    // (every change that could free an agent routes at once).
    tokio::spawn(larkdesk_service::agents::run_routing(
        state.services.agents.clone(),
        std::time::Duration::from_secs(30),
    ));
    if !args.no_event_delivery {
        let config = delivery::DeliveryConfig {
            retry_schedule: args
                .event_retry_schedule
                .iter()
                .map(|s| std::time::Duration::from_secs(*s))
                .collect(),
            lease: std::time::Duration::from_secs(args.event_lease_secs),
            timeout: std::time::Duration::from_secs(args.event_timeout_secs),
            allow_private: args.event_allow_private,
            stats: state.services.deliveries.clone(),
            ..Default::default()
        };
        tokio::spawn(delivery::run(store, clock, config));
    }
    // The push-job sender: jobs whose send_at has come are sent within a second (and at once
    // when touched through the API).
    let notifications = state.services.notifications.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = notifications.send_due().await {
                tracing::warn!(error = %e, "push-job sender failed");
            }
        }
    });
    tracing::info!(%addr, "larkdesk listening");
    let grace = std::time::Duration::from_secs(args.shutdown_grace_secs);
    larkdesk_api::serve(listener, state, shutdown_signal(), grace).await?;
    Ok(())
}

/// Write a file only its owner can read: it holds secrets.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The first-start banner: credentials plus a ready-to-paste curl sequence.
fn print_demo(base: &str, demo: &console::DemoCredentials) {
    let ticket = demo.ticket_ids.last().cloned().unwrap_or_default();
    println!(
        r#"
larkdesk: created a demo installation (credentials are shown only now)
  tenant_key      {tenant}
  app_id          {app_id}
  app_secret      {app_secret}
  helpdesk_id     {helpdesk_id}
  helpdesk_token  {helpdesk_token}
  tickets         {tickets}

Try it:
  TOKEN=$(curl -s -X POST {base}/open-apis/auth/v3/tenant_access_token/internal \
    -d '{{"app_id":"{app_id}","app_secret":"{app_secret}"}}' | sed 's/.*"tenant_access_token":"\([^"]*\)".*/\1/')
  HELPDESK=$(printf '%s' '{helpdesk_id}:{helpdesk_token}' | base64 -w0)
  curl -s {base}/open-apis/helpdesk/v1/tickets/{ticket} \
    -H "Authorization: Bearer $TOKEN" -H "X-Lark-Helpdesk-Authorization: $HELPDESK"
"#,
        tenant = demo.tenant_key,
        app_id = demo.app_id,
        app_secret = demo.app_secret,
        helpdesk_id = demo.helpdesk_id,
        helpdesk_token = demo.helpdesk_token,
        tickets = demo.ticket_ids.join(", "),
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
