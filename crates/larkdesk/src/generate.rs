//! `larkdesk admin generate-tickets`: load realistic tickets for benchmarks and demos. Each
//! ticket gets a plausible event history (bot stage, hand-over, agent replies, pending spans,
//! close, rating), written through the lifecycle so projections and durations are real.

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use larkdesk_domain::events::{Actor, EventKind, Reason, Sender, TicketEvent};
use larkdesk_domain::ids;
use larkdesk_domain::ids::TicketId;
use larkdesk_service::tickets::{NewTicket, Tickets};
use larkdesk_store::prelude::*;
use larkdesk_wire::ticket::TicketUser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const GUESTS: usize = 1000;
const AGENTS: usize = 50;
const BATCH: usize = 1000;
const TAGS: &[&str] = &[
    "vpn", "password", "billing", "hardware", "access", "email", "printer", "refund",
];

struct Pools {
    guests: Vec<String>,
    agents: Vec<String>,
    tags: Vec<(String, String)>,
}

fn message(sender: Sender, sender_id: &str, text: &str) -> EventKind {
    EventKind::Message {
        sender,
        sender_id: sender_id.to_owned(),
        message_id: ids::new_message_id(),
        msg_type: "text".into(),
        content: json!({"msg_type": "text", "content": text}).to_string(),
    }
}

/// When a generated ticket was created and how likely it is to be closed by now.
#[derive(Debug, Clone, Copy)]
struct Age {
    /// Its creation time (ms).
    t0: i64,
    /// The chance that a ticket handed to an agent was closed (the rest stay open).
    closed: f64,
}

/// Share of the tickets handed to an agent that are still open, by default.
const STILL_OPEN: f64 = 0.05;
/// Generated tickets were created within this long before now (ms).
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

/// The age of ticket `index` of `count`, created within the year before `now_ms`. By default
/// creation times are drawn at random and any ticket may still be open. With `open_latest`
/// tickets are created in id order, evenly over the year, and only the newest [`STILL_OPEN`] of
/// them may still be open (most of those are): about as many open tickets, but where a helpdesk
/// has them, among its latest.
fn age(rng: &mut StdRng, index: u64, count: u64, now_ms: i64, open_latest: bool) -> Age {
    if !open_latest {
        let t0 = now_ms - rng.random_range(0..YEAR_MS);
        return Age {
            t0,
            closed: 1.0 - STILL_OPEN,
        };
    }
    let share = index as f64 / count.max(1) as f64;
    let newest = share >= 1.0 - STILL_OPEN;
    Age {
        t0: now_ms - YEAR_MS + (share * YEAR_MS as f64) as i64,
        closed: if newest { STILL_OPEN } else { 1.0 },
    }
}

/// One ticket's history, starting at `t0` (ms); a ticket handed to an agent is closed with the
/// chance `closed`.
fn history(rng: &mut StdRng, pools: &Pools, t0: i64, closed: f64) -> Vec<TicketEvent> {
    let guest = pools.guests[rng.random_range(0..pools.guests.len())].clone();
    let agent = pools.agents[rng.random_range(0..pools.agents.len())].clone();
    let human_service = rng.random_bool(0.2);
    let mut t = t0;
    let mut events = Vec::new();
    let push = |events: &mut Vec<TicketEvent>, t: i64, actor: Actor, kind: EventKind| {
        events.push(TicketEvent {
            at_ms: t,
            actor,
            kind,
        });
    };
    let channel = [9, 2, 14, 13][rng.random_range(0..4)];
    push(
        &mut events,
        t,
        Actor::Guest(guest.clone()),
        EventKind::Created {
            guest_id: guest.clone(),
            channel,
            human_service,
        },
    );
    t += rng.random_range(5_000..120_000);
    push(
        &mut events,
        t,
        Actor::Guest(guest.clone()),
        message(Sender::Guest, &guest, "I need help"),
    );
    if !human_service {
        t += 2_000;
        push(
            &mut events,
            t,
            Actor::Bot,
            message(Sender::Bot, "", "Have you tried turning it off and on?"),
        );
        if rng.random_bool(0.5) {
            t += rng.random_range(60_000..600_000);
            let (status, by) = if rng.random_bool(0.6) {
                (50, None)
            } else {
                (52, Some(guest.clone()))
            };
            push(
                &mut events,
                t,
                Actor::Bot,
                EventKind::Closed { status, by_id: by },
            );
            return events;
        }
        t += rng.random_range(30_000..300_000);
        push(
            &mut events,
            t,
            Actor::Guest(guest.clone()),
            EventKind::HumanRequested,
        );
    }
    t += rng.random_range(10_000..1_800_000);
    push(
        &mut events,
        t,
        Actor::System,
        EventKind::AgentEntered {
            agent_id: agent.clone(),
        },
    );
    for _ in 0..rng.random_range(1..6) {
        t += rng.random_range(30_000..900_000);
        push(
            &mut events,
            t,
            Actor::Agent(agent.clone()),
            message(Sender::Agent, &agent, "Looking into it"),
        );
        t += rng.random_range(30_000..900_000);
        push(
            &mut events,
            t,
            Actor::Guest(guest.clone()),
            message(Sender::Guest, &guest, "Thanks"),
        );
    }
    if rng.random_bool(0.5) {
        let tag = pools.tags[rng.random_range(0..pools.tags.len())].clone();
        t += 1_000;
        push(
            &mut events,
            t,
            Actor::Agent(agent.clone()),
            EventKind::Tagged { tags: vec![tag] },
        );
    }
    if rng.random_bool(0.3) {
        t += rng.random_range(60_000..600_000);
        push(
            &mut events,
            t,
            Actor::Agent(agent.clone()),
            EventKind::StatusChanged { status: 4 },
        );
        t += rng.random_range(600_000..86_400_000);
        push(
            &mut events,
            t,
            Actor::Agent(agent.clone()),
            EventKind::StatusChanged { status: 2 },
        );
    }
    let roll: f64 = rng.random();
    if roll < closed {
        t += rng.random_range(60_000..3_600_000);
        let (actor, status, by) = if roll < 0.8 {
            (Actor::Agent(agent.clone()), 51, agent.clone())
        } else {
            (Actor::Guest(guest.clone()), 52, guest.clone())
        };
        push(
            &mut events,
            t,
            actor,
            EventKind::Closed {
                status,
                by_id: Some(by),
            },
        );
        if rng.random_bool(0.5) {
            let score = rng.random_range(1..=3);
            let reason = (score == 1).then(|| Reason {
                zh_cn: "答案看不懂".into(),
                en_us: "I don't understand".into(),
                ja_jp: String::new(),
            });
            t += rng.random_range(1_000..600_000);
            push(
                &mut events,
                t,
                Actor::Guest(guest),
                EventKind::Rated {
                    score,
                    dissatisfaction_reason: reason,
                },
            );
        }
    }
    events
}

/// Progress as plain lines, for when the bar is hidden (stderr is a file or a pipe).
struct ProgressLines {
    started: Instant,
    last: (Instant, u64),
}

impl ProgressLines {
    fn new(started: Instant) -> Self {
        Self {
            started,
            last: (started, 0),
        }
    }

    fn line(&mut self, done: u64, count: u64) {
        let now = Instant::now();
        let (then, done_then) = self.last;
        let rate = |n: u64, since: Instant| n as f64 / now.duration_since(since).as_secs_f64().max(1e-9);
        eprintln!(
            "generate-tickets: {done}/{count} tickets, {:.0}/s since the previous line, {:.0}/s overall, {:.0} s",
            rate(done - done_then, then),
            rate(done, self.started),
            now.duration_since(self.started).as_secs_f64()
        );
        self.last = (now, done);
    }
}

/// What `admin generate-tickets` loads, and how.
pub struct Load {
    pub count: u64,
    pub seed: u64,
    pub progress_every: u64,
    pub jobs: Option<usize>,
    /// Ids in creation order, the open tickets among the latest (see [`age`]).
    pub open_latest: bool,
}

/// Load `count` tickets into a helpdesk; prints progress on stderr and a JSON summary.
pub async fn run(
    tickets: &Tickets,
    store: &dyn Store,
    helpdesk_id: &str,
    load: Load,
) -> anyhow::Result<serde_json::Value> {
    let Load {
        count,
        seed,
        progress_every,
        jobs,
        open_latest,
    } = load;
    let jobs = jobs.unwrap_or_else(|| store.bulk_load_jobs()).max(1);
    let helpdesk = store.helpdesk_by_public_id(helpdesk_id).await?;
    let tenant = store.tenant_by_id(helpdesk.tenant_id).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let person = |prefix: &str, i: usize, agent: bool| {
        let user = TicketUser {
            id: format!("ou_{prefix}{seed:x}{i:08}"),
            name: format!("{} {i}", if agent { "Agent" } else { "Guest" }),
            email: format!("{prefix}{i}@example.com"),
            ..Default::default()
        };
        (user, agent)
    };
    let people: Vec<(TicketUser, bool)> = (0..GUESTS)
        .map(|i| person("g", i, false))
        .chain((0..AGENTS).map(|i| person("a", i, true)))
        .collect();
    for (user, agent) in &people {
        store.upsert_user(tenant.id, user, *agent).await?;
    }
    let tag_names: Vec<String> = TAGS.iter().map(|t| (*t).to_owned()).collect();
    let pools = Pools {
        guests: people
            .iter()
            .filter(|(_, a)| !a)
            .map(|(u, _)| u.id.clone())
            .collect(),
        agents: people
            .iter()
            .filter(|(_, a)| *a)
            .map(|(u, _)| u.id.clone())
            .collect(),
        tags: store.tags_for_names(&helpdesk, &tag_names).await?,
    };

    let bar = indicatif::ProgressBar::new(count);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tickets  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    // A random base keeps ids unique across runs; within a run they are consecutive.
    let base: i64 = rand::rng().random_range(7_000_000_000_000_000_000..7_900_000_000_000_000_000);
    let started = Instant::now();
    let mut progress = ProgressLines::new(started);
    // Batches are generated in order (the seed fixes the histories) and up to `jobs` of them
    // are written at once, each in its own transaction.
    let mut writing = FuturesUnordered::new();
    let (mut generated, mut done) = (0u64, 0u64);
    while done < count {
        if generated < count && writing.len() < jobs {
            let n = (count - generated).min(BATCH as u64);
            let batch: Vec<NewTicket> = (0..n)
                .map(|i| {
                    let age = age(&mut rng, generated + i, count, now_ms, open_latest);
                    NewTicket {
                        id: TicketId::new(base + (generated + i) as i64),
                        chat_id: ids::new_chat_id(),
                        events: history(&mut rng, &pools, age.t0, age.closed),
                    }
                })
                .collect();
            generated += n;
            let helpdesk = &helpdesk;
            writing.push(async move {
                tickets.create_many(helpdesk, &batch).await?;
                anyhow::Ok(n)
            });
            continue;
        }
        let n = writing.next().await.expect("a batch is being written")?;
        let before = done;
        done += n;
        bar.set_position(done);
        if bar.is_hidden() && (done / progress_every > before / progress_every || done == count) {
            progress.line(done, count);
        }
    }
    bar.finish();
    store.finish_bulk_load().await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "tickets": count,
        "seconds": seconds,
        "per_second": count as f64 / seconds.max(1e-9),
        "jobs": jobs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_histories_are_valid_lifecycles() {
        let pools = Pools {
            guests: vec!["ou_g".into()],
            agents: vec!["ou_a".into(), "ou_b".into()],
            tags: vec![("1".into(), "vpn".into())],
        };
        let mut rng = StdRng::seed_from_u64(7);
        let mut closed_by_agent = 0;
        for _ in 0..500 {
            let events = history(&mut rng, &pools, 1_700_000_000_000, 1.0 - STILL_OPEN);
            let t = larkdesk_domain::lifecycle::project("1", "2", &events).expect("a valid history");
            closed_by_agent += usize::from(t.status == 51);
            assert!(t.actual_processing_time <= t.agent_resolution_time);
        }
        assert!(
            closed_by_agent > 100,
            "a realistic share is handled by agents: {closed_by_agent}"
        );
    }

    fn pools() -> Pools {
        Pools {
            guests: vec!["ou_g".into()],
            agents: vec!["ou_a".into()],
            tags: vec![("1".into(), "vpn".into())],
        }
    }

    /// Of `count` tickets aged with `open_latest`, the indexes of the open ones, and whether
    /// their creation times rise with their ids.
    fn open_tickets(count: u64, open_latest: bool) -> (Vec<u64>, bool) {
        let (pools, mut rng, now) = (pools(), StdRng::seed_from_u64(3), 1_800_000_000_000);
        let mut open = Vec::new();
        let mut last_t0 = i64::MIN;
        let mut in_order = true;
        for index in 0..count {
            let age = age(&mut rng, index, count, now, open_latest);
            in_order &= age.t0 >= last_t0;
            last_t0 = age.t0;
            assert!((now - YEAR_MS..=now).contains(&age.t0), "{age:?}");
            let events = history(&mut rng, &pools, age.t0, age.closed);
            let t = larkdesk_domain::lifecycle::project("1", "2", &events).expect("a valid history");
            if t.status < 50 {
                open.push(index);
            }
        }
        (open, in_order)
    }

    #[test]
    fn open_latest_leaves_open_only_the_newest_tickets_and_about_as_many() {
        let (spread, spread_in_order) = open_tickets(4_000, false);
        let (latest, latest_in_order) = open_tickets(4_000, true);
        assert!(!spread_in_order && latest_in_order);
        assert!(
            spread.iter().any(|&i| i < 2_000),
            "by default open tickets are anywhere: {spread:?}"
        );
        assert!(
            latest.iter().all(|&i| i >= 3_800),
            "only the newest 5% stay open: {latest:?}"
        );
        // 5% of the tickets handed to an agent by default; most of the newest 5% with the option.
        let (a, b) = (spread.len() as f64, latest.len() as f64);
        assert!(a > 50.0 && (0.5..2.0).contains(&(b / a)), "{a} open against {b}");
    }
}
