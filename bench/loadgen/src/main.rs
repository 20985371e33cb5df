//! Open-loop load for `bench/latency.sh`.
//!
//! wrk is a closed loop: each connection sends its next request when the previous answer
//! arrives, so at 64 connections it keeps the server saturated, and the latency it reports is
//! the server's throughput in disguise (64 / req/s, by Little's law). This tool measures the
//! latency a server gives *at a given load*: connection `c` of `N` sends its `k`-th request at
//! `start + (k·N + c) / rate` whatever happened before, and latency is measured from that
//! scheduled time. A slow answer therefore also delays the connection's later requests, and
//! their wait counts too (no "coordinated omission").
//!
//! ```text
//! larkdesk-bench-loadgen --url http://127.0.0.1:8080/path --rate 20000 \
//!     [--connections 64] [--duration 10] [--warmup 2] [--header 'Name: value']...
//! ```
//!
//! It prints one line in the format of `bench/auth.lua`'s, which the bench scripts parse:
//! `BENCH_RESULT requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. p999_ms=.. max_ms=..
//! non2xx=N errors=N timer_lag_p99_ms=..`. `timer_lag` is how late this tool sent requests
//! whose connection was idle at the scheduled time: its own timing error, which must stay
//! small for the latencies to mean anything (`-` when no connection ever was).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Uri};
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

#[derive(Parser, Debug)]
#[command(about = "Open-loop HTTP/1.1 GET load; latency is measured from each request's scheduled send time")]
struct Args {
    /// The URL to GET (plain http).
    #[arg(long)]
    url: Uri,
    /// Requests per second over all connections.
    #[arg(long)]
    rate: f64,
    /// Keep-alive connections; each sends `rate / connections` requests per second.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the measured part, not counted.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// An extra request header, "Name: value"; may be repeated.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// A file of paths ("/open-apis/...?query"), one a line: each request asks for one of
    /// them at random (repeatably: each connection's choices follow from its number) on the
    /// URL's host, instead of the URL's own path.
    #[arg(long)]
    paths_file: Option<std::path::PathBuf>,
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue)> {
    let (name, value) = text.split_once(':').context("a header is \"Name: value\"")?;
    Ok((name.trim().parse()?, value.trim().parse()?))
}

/// Where requests go and what they carry.
struct Target {
    addr: SocketAddr,
    /// One or more paths; never empty.
    paths: Vec<Uri>,
    headers: HeaderMap,
}

impl Target {
    fn from_args(args: &Args) -> Result<Self> {
        if args.url.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported");
        }
        let authority = args.url.authority().context("the URL has no host")?;
        let addr = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80))
            .parse()
            .context("the URL's host must be an IP address")?;
        let paths = match &args.paths_file {
            None => vec![args.url.path_and_query().map_or("/", |p| p.as_str()).parse()?],
            Some(file) => {
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                let paths = parse_paths(&text)?;
                if paths.is_empty() {
                    bail!("{} holds no paths", file.display());
                }
                paths
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(HOST, authority.as_str().parse()?);
        for (name, value) in &args.headers {
            headers.append(name.clone(), value.clone());
        }
        Ok(Self { addr, paths, headers })
    }

    fn request(&self, path: &Uri) -> Result<Request<Empty<Bytes>>> {
        let mut request = Request::get(path.clone()).body(Empty::new())?;
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }
}

/// The non-blank lines of a paths file, each an absolute path with an optional query.
fn parse_paths(text: &str) -> Result<Vec<Uri>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let uri: Uri = line.parse().with_context(|| format!("not a path: {line:?}"))?;
            if uri.scheme().is_some() || !line.starts_with('/') {
                bail!("not a path: {line:?} (write /path?query; the host is --url's)");
            }
            Ok(uri)
        })
        .collect()
}

/// When each request is due.
#[derive(Clone, Copy)]
struct Schedule {
    start: Instant,
    measure_from: Instant,
    end: Instant,
    rate: f64,
    connections: u32,
}

impl Schedule {
    /// Connection `c`'s `k`-th request: computed from the start each time, so that rounding
    /// does not accumulate over a run.
    fn due(&self, c: u32, k: u64) -> Instant {
        let slot = k as f64 * f64::from(self.connections) + f64::from(c);
        self.start + Duration::from_secs_f64(slot / self.rate)
    }
}

/// One connection's results, in microseconds.
struct Tally {
    latency: Histogram<u64>,
    timer_lag: Histogram<u64>,
    non2xx: u64,
    errors: u64,
    last_done: Option<Instant>,
}

impl Tally {
    fn new() -> Result<Self> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)?,
            timer_lag: Histogram::new_with_bounds(1, 3_600_000_000, 3)?,
            non2xx: 0,
            errors: 0,
            last_done: None,
        })
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        self.latency.add(&other.latency)?;
        self.timer_lag.add(&other.timer_lag)?;
        self.non2xx += other.non2xx;
        self.errors += other.errors;
        self.last_done = self.last_done.max(other.last_done);
        Ok(())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Sleep until `due` with microsecond precision: tokio's timers tick in whole milliseconds, so
/// sleep to about a millisecond before and then yield to the scheduler (which polls the sockets
/// between yields) until the time comes.
async fn wait_until(due: Instant) {
    if let Some(near) = due.checked_sub(Duration::from_micros(1500))
        && near > Instant::now()
    {
        tokio::time::sleep_until(near.into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

/// One keep-alive connection sending its share of the schedule.
async fn drive(c: u32, target: Arc<Target>, schedule: Schedule) -> Result<Tally> {
    let stream = TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("connecting to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);

    let mut tally = Tally::new()?;
    let mut pick = SmallRng::seed_from_u64(u64::from(c));
    let mut previous_done = schedule.start;
    for k in 0.. {
        let due = schedule.due(c, k);
        if due >= schedule.end {
            break;
        }
        let idle_when_due = previous_done <= due;
        let path = &target.paths[pick.random_range(0..target.paths.len())];
        wait_until(due).await;
        let sent = Instant::now();
        let outcome = async {
            sender.ready().await?;
            let response = sender.send_request(target.request(path)?).await?;
            let status = response.status();
            response.into_body().collect().await?;
            anyhow::Ok(status)
        }
        .await;
        let done = Instant::now();
        previous_done = done;
        if due < schedule.measure_from {
            continue;
        }
        match outcome {
            Ok(status) => {
                tally.latency.record(micros(done - due))?;
                if idle_when_due {
                    tally.timer_lag.record(micros(sent - due))?;
                }
                if !status.is_success() {
                    tally.non2xx += 1;
                }
                tally.last_done = Some(done);
            }
            Err(error) => {
                // The connection is gone; its remaining requests are not sent.
                eprintln!("connection {c}: {error:#}");
                tally.errors += 1;
                break;
            }
        }
    }
    Ok(tally)
}

async fn run(args: Args) -> Result<()> {
    if !(args.rate > 0.0 && args.duration > 0.0 && args.warmup >= 0.0 && args.connections > 0) {
        bail!("--rate, --duration and --connections must be positive, --warmup not negative");
    }
    let target = Arc::new(Target::from_args(&args)?);
    // The first request is due 200 ms from now, time for the connections to open (they open
    // in `drive`; one that takes longer sends its first requests late, within the warm-up).
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let schedule = Schedule {
        start,
        measure_from,
        end: measure_from + Duration::from_secs_f64(args.duration),
        rate: args.rate,
        connections: args.connections,
    };
    let mut tasks = JoinSet::new();
    for c in 0..args.connections {
        tasks.spawn(drive(c, Arc::clone(&target), schedule));
    }
    let mut total = Tally::new()?;
    while let Some(joined) = tasks.join_next().await {
        total.merge(&joined??)?;
    }

    let requests = total.latency.len();
    let seconds = total.last_done.map_or(0.0, |done| {
        done.saturating_duration_since(measure_from).as_secs_f64()
    });
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    // With every connection busy at every due time there is no idle sample to tell the lag by.
    let timer_lag_p99 = if total.timer_lag.is_empty() {
        "-".to_string()
    } else {
        format!("{:.3}", ms(&total.timer_lag, 0.99))
    };
    println!(
        "BENCH_RESULT requests={requests} seconds={seconds:.3} rps={:.0} offered_rps={:.0} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} non2xx={} errors={} timer_lag_p99_ms={}",
        if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        args.rate,
        ms(&total.latency, 0.5),
        ms(&total.latency, 0.9),
        ms(&total.latency, 0.99),
        ms(&total.latency, 0.999),
        total.latency.max() as f64 / 1000.0,
        total.non2xx,
        total.errors,
        timer_lag_p99,
    );
    if total.errors > 0 {
        bail!("{} connections failed", total.errors);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    // One thread: the bench scripts pin this tool to the core the server is not on.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spread_evenly_over_the_connections() {
        let start = Instant::now();
        let schedule = Schedule {
            start,
            measure_from: start,
            end: start,
            rate: 1000.0,
            connections: 4,
        };
        let offset = |c, k| schedule.due(c, k) - start;
        // 1000 req/s over 4 connections: one request every millisecond, each connection every 4.
        assert_eq!(offset(0, 0), Duration::ZERO);
        assert_eq!(offset(1, 0), Duration::from_millis(1));
        assert_eq!(offset(3, 0), Duration::from_millis(3));
        assert_eq!(offset(0, 1), Duration::from_millis(4));
        assert_eq!(offset(2, 250), Duration::from_millis(1002));
    }

    #[test]
    fn requests_carry_the_host_and_the_extra_headers() {
        let args = Args::parse_from([
            "loadgen",
            "--url",
            "http://127.0.0.1:8080/open-apis/helpdesk/v1/tickets/1?x=1",
            "--rate",
            "10",
            "--header",
            "Authorization: Bearer t-1",
            "--header",
            "X-Extra:a:b",
        ]);
        let target = Target::from_args(&args).unwrap();
        assert_eq!(target.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(target.paths.len(), 1);
        let request = target.request(&target.paths[0]).unwrap();
        assert_eq!(request.uri(), "/open-apis/helpdesk/v1/tickets/1?x=1");
        assert_eq!(request.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(request.headers()["authorization"], "Bearer t-1");
        assert_eq!(request.headers()["x-extra"], "a:b");
    }

    #[test]
    fn a_paths_file_holds_paths_on_the_urls_host() {
        let paths =
            parse_paths("/open-apis/helpdesk/v1/tickets/1\n\n  /open-apis/helpdesk/v1/tickets?page=2 \n")
                .unwrap();
        let paths: Vec<String> = paths.iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            [
                "/open-apis/helpdesk/v1/tickets/1",
                "/open-apis/helpdesk/v1/tickets?page=2"
            ]
        );
        for bad in ["http://10.0.0.1/x", "tickets/1", "/a b"] {
            assert!(parse_paths(bad).is_err(), "{bad:?} was taken for a path");
        }
    }

    #[test]
    fn only_plain_http_to_an_address_is_accepted() {
        for url in ["https://127.0.0.1/", "http://localhost:8080/"] {
            let args = Args::parse_from(["loadgen", "--url", url, "--rate", "1"]);
            assert!(Target::from_args(&args).is_err(), "{url}");
        }
        assert!(parse_header("no colon").is_err());
    }
}
