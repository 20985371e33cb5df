//! Feishu-style rate limiting: one bucket per endpoint × app × tenant. The quotas live in one
//! table ([`DEFAULT_LIMITS`]) and can be overridden or switched off from the command line.

use std::collections::HashMap;
use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Endpoints with their own rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    GetTicket,
    ListTickets,
    UpdateTicket,
    StartService,
    CreateTicketMessage,
    ListTicketMessages,
    BotMessage,
    TicketImages,
    AnswerUserQuery,
    CustomizedFields,
    TicketCustomizedFields,
}

impl Endpoint {
    pub const ALL: &[Endpoint] = &[
        Endpoint::GetTicket,
        Endpoint::ListTickets,
        Endpoint::UpdateTicket,
        Endpoint::StartService,
        Endpoint::CreateTicketMessage,
        Endpoint::ListTicketMessages,
        Endpoint::BotMessage,
        Endpoint::TicketImages,
        Endpoint::AnswerUserQuery,
        Endpoint::CustomizedFields,
        Endpoint::TicketCustomizedFields,
    ];

    /// The name used in `--rate-limit NAME=N` and in the docs.
    pub fn name(self) -> &'static str {
        match self {
            Self::GetTicket => "get_ticket",
            Self::ListTickets => "list_tickets",
            Self::UpdateTicket => "update_ticket",
            Self::StartService => "start_service",
            Self::CreateTicketMessage => "create_ticket_message",
            Self::ListTicketMessages => "list_ticket_messages",
            Self::BotMessage => "bot_message",
            Self::TicketImages => "ticket_images",
            Self::AnswerUserQuery => "answer_user_query",
            Self::CustomizedFields => "customized_fields",
            Self::TicketCustomizedFields => "ticket_customized_fields",
        }
    }
}

/// Per-second limits. Documented ones (`feishu-helpdesk-api.md` §1): get_ticket 10/s,
/// list_tickets, create_ticket_message and ticket_images 50/s. Feishu calls the others
/// "special" without a number; we give them 100/s.
pub const DEFAULT_LIMITS: &[(Endpoint, u32)] = &[
    (Endpoint::GetTicket, 10),
    (Endpoint::ListTickets, 50),
    (Endpoint::UpdateTicket, 100),
    (Endpoint::StartService, 100),
    (Endpoint::CreateTicketMessage, 50),
    (Endpoint::ListTicketMessages, 100),
    (Endpoint::BotMessage, 100),
    (Endpoint::TicketImages, 50),
    (Endpoint::AnswerUserQuery, 100),
    (Endpoint::CustomizedFields, 100),
    (Endpoint::TicketCustomizedFields, 100),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CallerKey {
    app_row_id: i64,
    tenant_id: i64,
}

struct Bucket {
    per_second: u32,
    limiter: DefaultKeyedRateLimiter<CallerKey>,
}

pub struct RateLimits {
    buckets: HashMap<Endpoint, Bucket>,
}

impl RateLimits {
    /// `overrides` replace the default per-second quota of an endpoint; 0 disables it.
    pub fn new(enabled: bool, overrides: &HashMap<Endpoint, u32>) -> Self {
        let buckets = if !enabled {
            HashMap::new()
        } else {
            DEFAULT_LIMITS
                .iter()
                .filter_map(|&(endpoint, default)| {
                    let per_second = overrides.get(&endpoint).copied().unwrap_or(default);
                    let quota = Quota::per_second(NonZeroU32::new(per_second)?);
                    Some((
                        endpoint,
                        Bucket {
                            per_second,
                            limiter: RateLimiter::keyed(quota),
                        },
                    ))
                })
                .collect()
        };
        Self { buckets }
    }

    pub fn disabled() -> Self {
        Self {
            buckets: HashMap::new(),
        }
    }

    /// Take one request from the caller's bucket, or say when to come back.
    pub fn check(&self, endpoint: Endpoint, app_row_id: i64, tenant_id: i64) -> Result<(), ApiError> {
        let Some(bucket) = self.buckets.get(&endpoint) else {
            return Ok(());
        };
        bucket
            .limiter
            .check_key(&CallerKey {
                app_row_id,
                tenant_id,
            })
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::rate_limited(bucket.per_second, wait.as_secs_f64().ceil().max(1.0) as u64)
            })
    }

    /// Parse `NAME=N` overrides.
    pub fn parse_override(spec: &str) -> Result<(Endpoint, u32), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=N, got {spec:?}"))?;
        let endpoint = Endpoint::ALL
            .iter()
            .copied()
            .find(|e| e.name() == name)
            .ok_or_else(|| format!("unknown endpoint {name:?}"))?;
        let per_second = value.parse().map_err(|_| format!("not a number: {value:?}"))?;
        Ok((endpoint, per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleventh_request_in_a_second_is_refused_per_caller() {
        let limits = RateLimits::new(true, &HashMap::new());
        for _ in 0..10 {
            limits.check(Endpoint::GetTicket, 1, 1).unwrap();
        }
        let err = limits.check(Endpoint::GetTicket, 1, 1).unwrap_err();
        assert_eq!(err.code, 99991400);
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.headers.contains(&("x-ogw-ratelimit-limit", "10".into())));
        // Another app of the same tenant has its own bucket.
        limits.check(Endpoint::GetTicket, 2, 1).unwrap();
    }

    #[test]
    fn overrides_and_off() {
        let limits = RateLimits::new(true, &HashMap::from([(Endpoint::GetTicket, 0)]));
        for _ in 0..100 {
            limits.check(Endpoint::GetTicket, 1, 1).unwrap();
        }
        assert_eq!(
            RateLimits::parse_override("get_ticket=20"),
            Ok((Endpoint::GetTicket, 20))
        );
        assert!(RateLimits::parse_override("nope=1").is_err());
        assert!(RateLimits::parse_override("get_ticket").is_err());
    }
}
