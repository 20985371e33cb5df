//! Feishu-style rate limiting: one bucket per endpoint × app × tenant. The quotas come from the
//! endpoint table ([`crate::endpoints::ENDPOINTS`]) and can be overridden or switched off from
//! the command line.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::endpoints::{self, Endpoint};
use crate::error::ApiError;

/// Who a bucket belongs to: an app (by its globally unique `app_id`) in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CallerKey {
    app_id: String,
    tenant_id: i64,
}

/// GCRA in Redis, the algorithm governor uses in process, so both backends admit the same
/// requests: a burst of `limit`, then one request every `1000 / limit` ms. Redis's own clock is
/// used so that instances with skewed clocks agree. Returns 0 to admit, else the ms to wait.
const REDIS_GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if now < tat - tolerance then return tat - tolerance - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return 0
";

enum Backend {
    /// In-process buckets (one instance, or instances that need not share limits).
    Local(HashMap<&'static str, DefaultKeyedRateLimiter<CallerKey>>),
    /// Buckets in Redis, shared by every instance using it.
    Redis(Arc<RedisBuckets>),
}

/// The longest a request waits for Redis: past it, the request is admitted (fail open).
pub const REDIS_CALL_TIMEOUT: Duration = Duration::from_millis(300);
/// How long one reconnection attempt may take, and the pause between attempts.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REDIS_RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// The GCRA buckets in Redis, and the one multiplexed connection to it.
///
/// Every call is bounded by [`REDIS_CALL_TIMEOUT`]. The first failure (refused, reset, timed out)
/// drops the connection, logs one warning and starts one background task that reconnects;
/// until it has, requests are admitted at once without trying Redis, so an outage costs each
/// request nothing and recovery needs no request to trigger it.
struct RedisBuckets {
    client: redis::Client,
    script: redis::Script,
    /// `None` while Redis is down (a reconnection task is running); with the connection, its
    /// generation, so that a late failure of an old connection cannot drop its replacement.
    connection: std::sync::RwLock<Option<(u64, redis::aio::MultiplexedConnection)>>,
}

impl RedisBuckets {
    fn config() -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
            .set_response_timeout(REDIS_CALL_TIMEOUT)
    }

    /// A connection that has answered a PING, within [`REDIS_CONNECT_TIMEOUT`] overall.
    async fn connect(client: &redis::Client) -> Result<redis::aio::MultiplexedConnection, String> {
        let attempt = async {
            let mut connection = client
                .get_multiplexed_async_connection_with_config(&Self::config())
                .await?;
            redis::cmd("PING").query_async::<()>(&mut connection).await?;
            Ok::<_, redis::RedisError>(connection)
        };
        match tokio::time::timeout(REDIS_CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    fn current(&self) -> Option<(u64, redis::aio::MultiplexedConnection)> {
        self.connection
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Redis failed: forget the connection and, if this is the first failure of the outage,
    /// warn and reconnect in the background.
    fn down(self: &Arc<Self>, generation: u64, error: &str) {
        {
            let mut current = self
                .connection
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !matches!(*current, Some((g, _)) if g == generation) {
                return; // another request noticed first: its task is reconnecting, or has
            }
            *current = None;
        }
        tracing::warn!(
            error,
            "rate limiter's Redis unavailable; admitting requests until it is back"
        );
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REDIS_RECONNECT_PAUSE).await;
                match Self::connect(&this.client).await {
                    Ok(connection) => {
                        *this
                            .connection
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some((generation + 1, connection));
                        tracing::warn!("rate limiter's Redis reachable again; limits apply");
                        return;
                    }
                    Err(e) => tracing::debug!(error = e, "Redis still unreachable"),
                }
            }
        });
    }

    /// `Some(ms to wait)` (0: admitted) from Redis, or `None` if Redis did not answer in time.
    async fn take(self: &Arc<Self>, key: String, interval_ms: u64, tolerance_ms: u64) -> Option<u64> {
        let (generation, mut connection) = self.current()?;
        let mut invocation = self.script.key(key);
        invocation.arg(interval_ms).arg(tolerance_ms);
        let call = invocation.invoke_async::<u64>(&mut connection);
        match tokio::time::timeout(REDIS_CALL_TIMEOUT, call).await {
            Ok(Ok(wait_ms)) => Some(wait_ms),
            Ok(Err(e)) => {
                self.down(generation, &e.to_string());
                None
            }
            Err(_) => {
                self.down(generation, "no answer within the call timeout");
                None
            }
        }
    }
}

/// Per-second limits by bucket name (`--rate-limit NAME=N` overrides).
pub type Overrides = HashMap<&'static str, u32>;

pub struct RateLimits {
    /// Per endpoint (by its index in the table): its bucket and per-second limit, if limited.
    limited: Vec<Option<(&'static str, u32)>>,
    backend: Backend,
}

/// Each endpoint's bucket and limit, by the endpoint's index in the table.
fn by_endpoint(quotas: &HashMap<&'static str, u32>) -> Vec<Option<(&'static str, u32)>> {
    endpoints::ENDPOINTS
        .iter()
        .map(|s| {
            let bucket = s.limit?.bucket;
            Some((bucket, *quotas.get(bucket)?))
        })
        .collect()
}

fn quotas(enabled: bool, overrides: &Overrides) -> HashMap<&'static str, u32> {
    if !enabled {
        return HashMap::new();
    }
    endpoints::buckets()
        .into_iter()
        .map(|l| (l.bucket, overrides.get(l.bucket).copied().unwrap_or(l.per_second)))
        .filter(|&(_, per_second)| per_second > 0)
        .collect()
}

impl RateLimits {
    /// In-process limits. `overrides` replace an endpoint's per-second quota; 0 disables it.
    pub fn new(enabled: bool, overrides: &Overrides) -> Self {
        let per_second = quotas(enabled, overrides);
        let buckets = per_second
            .iter()
            .filter_map(|(&bucket, &n)| {
                Some((bucket, RateLimiter::keyed(Quota::per_second(NonZeroU32::new(n)?))))
            })
            .collect();
        Self {
            limited: by_endpoint(&per_second),
            backend: Backend::Local(buckets),
        }
    }

    /// Limits shared through Redis at `url`.
    pub async fn redis(url: &str, enabled: bool, overrides: &Overrides) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        // Fail fast at start on a wrong URL or a down Redis; later outages are retried in the
        // background while requests are admitted (see `check`).
        let connection = RedisBuckets::connect(&client)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {url}: {e}"))?;
        Ok(Self {
            limited: by_endpoint(&quotas(enabled, overrides)),
            backend: Backend::Redis(Arc::new(RedisBuckets {
                client,
                script: redis::Script::new(REDIS_GCRA),
                connection: std::sync::RwLock::new(Some((0, connection))),
            })),
        })
    }

    /// Whether the shared limiter's Redis answers a PING (readiness); `None` when limits are
    /// kept in process.
    pub async fn ping(&self) -> Option<Result<(), String>> {
        let Backend::Redis(buckets) = &self.backend else {
            return None;
        };
        // Down: the reconnection task is at work, and the limiter is failing open.
        let Some((_, mut connection)) = buckets.current() else {
            return Some(Err("not connected (reconnecting)".to_owned()));
        };
        let pinged = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await;
        Some(match pinged {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        })
    }

    /// Take one request from the caller's bucket, or say when to come back. If Redis cannot be
    /// reached within [`REDIS_CALL_TIMEOUT`] the request is admitted (and a warning logged once
    /// per outage): an outage of the limiter must not become an outage of the API.
    pub async fn check(&self, endpoint: Endpoint, app_id: &str, tenant_id: i64) -> Result<(), ApiError> {
        let Some((bucket, limit)) = self.limited[endpoint as usize] else {
            return Ok(());
        };
        let wait = match &self.backend {
            Backend::Local(buckets) => {
                let Some(limiter) = buckets.get(bucket) else {
                    return Ok(());
                };
                match limiter.check_key(&CallerKey {
                    app_id: app_id.to_owned(),
                    tenant_id,
                }) {
                    Ok(()) => return Ok(()),
                    Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()),
                }
            }
            Backend::Redis(redis) => {
                let interval_ms = 1000 / u64::from(limit).max(1);
                let key = format!("larkdesk:ratelimit:{bucket}:{app_id}:{tenant_id}");
                match redis
                    .take(key, interval_ms, interval_ms * u64::from(limit - 1))
                    .await
                {
                    Some(0) | None => return Ok(()),
                    Some(wait_ms) => Duration::from_millis(wait_ms),
                }
            }
        };
        Err(ApiError::rate_limited(
            limit,
            wait.as_secs_f64().ceil().max(1.0) as u64,
        ))
    }

    /// Parse a `NAME=N` override (NAME: a bucket of the endpoint table).
    pub fn parse_override(spec: &str) -> Result<(&'static str, u32), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=N, got {spec:?}"))?;
        let bucket = endpoints::buckets()
            .into_iter()
            .map(|l| l.bucket)
            .find(|b| *b == name)
            .ok_or_else(|| format!("unknown endpoint {name:?}"))?;
        let per_second = value.parse().map_err(|_| format!("not a number: {value:?}"))?;
        Ok((bucket, per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eleventh_request_in_a_second_is_refused_per_caller() {
        let limits = RateLimits::new(true, &HashMap::new());
        for _ in 0..10 {
            limits.check(Endpoint::GetTicket, "cli_1", 1).await.unwrap();
        }
        let err = limits.check(Endpoint::GetTicket, "cli_1", 1).await.unwrap_err();
        assert_eq!(err.code, 99991400);
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.headers.contains(&("x-ogw-ratelimit-limit", "10".into())));
        // Another app of the same tenant has its own bucket.
        limits.check(Endpoint::GetTicket, "cli_2", 1).await.unwrap();
    }

    #[tokio::test]
    async fn overrides_and_off() {
        let limits = RateLimits::new(true, &HashMap::from([("get_ticket", 0)]));
        for _ in 0..100 {
            limits.check(Endpoint::GetTicket, "cli_1", 1).await.unwrap();
        }
        assert_eq!(
            RateLimits::parse_override("get_ticket=20"),
            Ok(("get_ticket", 20))
        );
        assert!(RateLimits::parse_override("nope=1").is_err());
        assert!(RateLimits::parse_override("get_ticket").is_err());
    }
}
