//! What one ticket change costs as the ticket's log grows: a guest message appended to a ticket
//! whose log holds 10, 100, 1,000 and 10,000 events, on SQLite (a temp file) and, when
//! `LARKDESK_BENCH_POSTGRES_URL` names an admin URL, on a fresh PostgreSQL database.
//!
//!   cargo bench -p larkdesk-service --bench write_cost
//!
//! Each size is measured three ways in the same run: as larkdesk writes now (the new event
//! applied to the stored projection and its kept state); the same on a fresh 10-event ticket of
//! the same database, interleaved (what the database's own growth costs, whatever the log); and
//! with the kept state cleared before each change, which makes it replay the whole log as every
//! change did before migration 0007.

use std::time::{Duration, Instant};

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::{Actor, EventKind, Sender, TicketEvent};
use larkdesk_domain::ids::TicketId;
use larkdesk_service::tickets;
use larkdesk_store::NewHelpdesk;
use larkdesk_wire::ticket::TicketUser;

const SIZES: &[usize] = &[10, 100, 1_000, 10_000];
const CHANGES: usize = 200;

fn said(at_ms: i64, n: usize) -> TicketEvent {
    TicketEvent {
        at_ms,
        actor: Actor::Guest("ou_guest".into()),
        kind: EventKind::Message {
            sender: Sender::Guest,
            sender_id: "ou_guest".into(),
            message_id: format!("om_{n}"),
            msg_type: "text".into(),
            content: r#"{"msg_type":"text","content":"a message of a typical length, some forty words"}"#
                .into(),
        },
    }
}

/// Median and 99th percentile.
fn summary(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

async fn run(name: &str, url: &str, clear_state: impl Fn(TicketId) -> String, raw: &Raw) {
    let store = larkdesk_store::connect(url, 4).await.expect("store");
    let tenant = store.create_tenant("0000000000000bee", "Bench").await.unwrap();
    let helpdesk = store
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: "7000000000000000900".into(),
            tenant_id: tenant.id,
            name: "Bench".into(),
            token_hash: SecretHash::of("t"),
        })
        .await
        .unwrap();
    let guest = TicketUser {
        id: "ou_guest".into(),
        name: "Guest".into(),
        ..Default::default()
    };
    store.upsert_user(tenant.id, &guest, false).await.unwrap();
    let id = TicketId::new(7_000_000_000_000_000_901);
    let t0 = 1_700_000_000_000;
    let created = TicketEvent {
        at_ms: t0,
        actor: Actor::Guest("ou_guest".into()),
        kind: EventKind::Created {
            guest_id: "ou_guest".into(),
            channel: 9,
            human_service: false,
        },
    };
    tickets::create(&*store, &helpdesk, id, "oc_bench", vec![created.clone()], &[])
        .await
        .unwrap();
    let mut events = 1;
    println!("\n{name}: one guest message appended, {CHANGES} changes per size (ms)\n");
    println!(
        "| log size | kept state: median | p99 | 10-event ticket, same database: median | p99 | whole log replayed: median | p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &size in SIZES {
        while events < size {
            let n = (size - events).min(500);
            let batch: Vec<_> = (0..n)
                .map(|i| said(t0 + (events + i) as i64, events + i))
                .collect();
            tickets::change(&*store, &helpdesk, id, |_, _| Ok(batch))
                .await
                .unwrap();
            events += n;
        }
        // A fresh small ticket beside the big one.
        let small = TicketId::new(id.get() + size as i64);
        let first: Vec<_> = std::iter::once(created.clone())
            .chain((1..10).map(|i| said(t0 + i as i64, 10_000_000 + size * 1000 + i)))
            .collect();
        tickets::create(&*store, &helpdesk, small, "oc_small", first, &[])
            .await
            .unwrap();
        let mut kept = Vec::with_capacity(CHANGES);
        let mut beside = Vec::with_capacity(CHANGES);
        let mut replayed = Vec::with_capacity(CHANGES);
        for round in 0..CHANGES {
            let event = said(t0 + events as i64, events);
            events += 1;
            let started = Instant::now();
            tickets::change(&*store, &helpdesk, id, |_, _| Ok(vec![event]))
                .await
                .unwrap();
            kept.push(started.elapsed());
            let event = said(t0 + 10 + round as i64, 10_000_000 + size * 1000 + 10 + round);
            let started = Instant::now();
            tickets::change(&*store, &helpdesk, small, |_, _| Ok(vec![event]))
                .await
                .unwrap();
            beside.push(started.elapsed());
            if round % 4 == 0 {
                raw.exec(&clear_state(id)).await;
                let event = said(t0 + events as i64, events);
                events += 1;
                let started = Instant::now();
                tickets::change(&*store, &helpdesk, id, |_, _| Ok(vec![event]))
                    .await
                    .unwrap();
                replayed.push(started.elapsed());
            }
        }
        let (k50, k99) = summary(kept);
        let (b50, b99) = summary(beside);
        let (r50, r99) = summary(replayed);
        println!("| {size} | {k50:.3} | {k99:.3} | {b50:.3} | {b99:.3} | {r50:.3} | {r99:.3} |");
    }
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) {
        match self {
            Self::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .expect(sql);
    }
}

#[tokio::main]
async fn main() {
    let clear = |id: TicketId| format!("UPDATE tickets SET log_state = NULL WHERE ticket_id = {id}");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    // Created by the store first; the raw pool only clears the kept state.
    larkdesk_store::connect(&url, 1).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    run("SQLite", &url, clear, &raw).await;

    if let Ok(admin) = std::env::var("LARKDESK_BENCH_POSTGRES_URL") {
        use sqlx::Connection;
        let name = format!("larkdesk_bench_{}", larkdesk_domain::ids::new_tenant_key());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        larkdesk_store::connect(&url, 1).await.unwrap();
        let raw = Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
        run("PostgreSQL", &url, clear, &raw).await;
        if let Raw::Postgres(pool) = raw {
            pool.close().await;
        }
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}
