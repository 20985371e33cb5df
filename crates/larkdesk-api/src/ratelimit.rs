//! Feishu-style rate limiting: one bucket per endpoint × app × tenant. The quotas come from the
//! endpoint table ([`crate::endpoints::ENDPOINTS`]) and can be overridden or switched off from
//! the command line.

use std::collections::HashMap;
use std::num::NonZeroU32;

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
    Redis {
        connection: redis::aio::ConnectionManager,
        script: redis::Script,
    },
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
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(2))
            .set_response_timeout(std::time::Duration::from_millis(500))
            .set_number_of_retries(2);
        let connecting = redis::aio::ConnectionManager::new_with_config(client, config);
        let connection = tokio::time::timeout(std::time::Duration::from_secs(5), connecting)
            .await
            .map_err(|_| anyhow::anyhow!("cannot connect to Redis at {url}: timed out"))?
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {url}: {e}"))?;
        Ok(Self {
            limited: by_endpoint(&quotas(enabled, overrides)),
            backend: Backend::Redis {
                connection,
                script: redis::Script::new(REDIS_GCRA),
            },
        })
    }

    /// Whether the shared limiter's Redis answers a PING (readiness); `None` when limits are
    /// kept in process.
    pub async fn ping(&self) -> Option<Result<(), String>> {
        let Backend::Redis { connection, .. } = &self.backend else {
            return None;
        };
        let mut connection = connection.clone();
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
    /// reached the request is admitted (and a warning logged): an outage of the limiter must
    /// not become an outage of the API.
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
            Backend::Redis { connection, script } => {
                let interval_ms = 1000 / u64::from(limit).max(1);
                let key = format!("larkdesk:ratelimit:{bucket}:{app_id}:{tenant_id}");
                let mut connection = connection.clone();
                let result: redis::RedisResult<u64> = script
                    .key(key)
                    .arg(interval_ms)
                    .arg(interval_ms * u64::from(limit - 1))
                    .invoke_async(&mut connection)
                    .await;
                match result {
                    Ok(0) => return Ok(()),
                    Ok(wait_ms) => std::time::Duration::from_millis(wait_ms),
                    Err(e) => {
                        tracing::warn!(error = %e, "rate limiter unavailable; admitting the request");
                        return Ok(());
                    }
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
