//! One story told to every backend through `larkdesk_store::connect`: SQLite (a temp file)
//! always; PostgreSQL when `LARKDESK_TEST_POSTGRES_URL` names an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`: the test then creates a fresh database
//! `larkdesk_test_<random hex>`, runs against it and drops it.
//!
//! Every story opens two store instances on the same database, as two larkdesk processes
//! would, and spreads the concurrent work over both.

use std::sync::Arc;

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::events::{Actor, EventKind, Sender, TicketEvent};
use larkdesk_domain::ids::{self, TenantRowId, TicketId};
use larkdesk_domain::lifecycle::{self, LifecycleError};
use larkdesk_service::tickets::{self, NewTicket, RebuildReport, TicketPage, Tickets};
use larkdesk_service::{Clock, Error};
use larkdesk_store::{
    AppType, BotMessage, FieldDefinition, ListRequest, NewApp, NewHelpdesk, StoreError, TicketFilter,
};
use larkdesk_wire::ticket::{Ticket, TicketUser};
use sqlx::Connection;

const ADMIN_URL_VAR: &str = "LARKDESK_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A raw connection to the database behind the stores, to damage projections on purpose.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// A connection of its own to the database at `url`.
    async fn connect(backend: Backend, url: &str) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap()),
            Backend::Postgres => Self::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
        }
    }

    /// Run a statement that must change exactly one row (damage that misses is no damage).
    async fn exec(&self, sql: &str) {
        let rows = match self {
            Self::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()),
            Self::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(rows, 1, "{sql}: rows changed");
    }

    /// The one integer a query answers.
    async fn count(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("larkdesk.db").display());
    story(Backend::Sqlite, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_backend() {
    on_fresh_postgres(|url| story(Backend::Postgres, url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_update_hours() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("larkdesk.db").display());
    update_hours(Backend::Sqlite, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_update_hours() {
    on_fresh_postgres(|url| update_hours(Backend::Postgres, url)).await;
}

/// Lists filtered by update time find tickets through the hour of their update (migration
/// 0016): exactly the tickets whose `updated_at` is in the range, at the range's ends and
/// across hours; and a change writes a ticket's hour only when it moves to another one (so an
/// hour found unchanged after a change was not written, not merely written again).
async fn update_hours(backend: Backend, url: String) {
    const HOUR: i64 = 3_600_000;
    let store = larkdesk_store::connect(&url, 4).await.expect("store");
    let raw = Raw::connect(backend, &url).await;
    let tenant = store.create_tenant("00000000000000bb", "Hours").await.unwrap();
    let helpdesk = store
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: "7000000000000000300".into(),
            tenant_id: tenant.id,
            name: "Hours".into(),
            token_hash: SecretHash::of("t"),
        })
        .await
        .unwrap();
    // An hour of 2023 and a ticket made in the last millisecond before it, one in it.
    let h: i64 = 472_222;
    let (early, late) = (
        TicketId::new(7_000_000_000_000_000_901),
        TicketId::new(7_000_000_000_000_000_902),
    );
    for (id, at) in [(early, h * HOUR - 1), (late, h * HOUR)] {
        let created = EventKind::Created {
            guest_id: "ou_guest".into(),
            channel: 0,
            human_service: false,
        };
        tickets::create(
            &*store,
            &helpdesk,
            id,
            "",
            vec![event(at - 10, Actor::System, created)],
            &[],
        )
        .await
        .unwrap();
        tickets::change(&*store, &helpdesk, id, |_, _| {
            Ok(vec![guest_says(at, "ou_guest", &format!("om_{id}"))])
        })
        .await
        .unwrap();
    }
    let updated_between = |from: i64, to: i64| {
        let store = store.clone();
        let helpdesk = helpdesk.clone();
        async move {
            let filter = by(|f| f.updated = Some((from, to)));
            let (total, tickets) = store
                .list_tickets(&helpdesk, ListRequest::new(&filter, 0, 10))
                .await
                .unwrap();
            let mut ids = ticket_ids(&tickets);
            ids.sort();
            assert_eq!(total, ids.len() as i64, "{from}..={to}");
            ids
        }
    };
    assert_eq!(updated_between(h * HOUR - 1, h * HOUR - 1).await, vec![early]);
    assert_eq!(updated_between(h * HOUR, h * HOUR).await, vec![late]);
    assert_eq!(updated_between(h * HOUR - 1, h * HOUR).await, vec![early, late]);
    assert_eq!(updated_between(h * HOUR - HOUR, h * HOUR - 2).await, vec![]);
    assert_eq!(updated_between(h * HOUR + 1, h * HOUR + HOUR).await, vec![]);
    assert_eq!(updated_between(0, i64::MAX).await, vec![early, late]);
    assert_eq!(updated_between(i64::MIN, i64::MAX).await, vec![early, late]);
    assert_eq!(
        updated_between(h * HOUR, h * HOUR - 1).await,
        vec![],
        "an empty range"
    );

    let stored_hour = |id: TicketId| {
        let raw = &raw;
        async move {
            raw.count(&format!(
                "SELECT updated_hour FROM tickets WHERE ticket_id = {id}"
            ))
            .await
        }
    };
    assert_eq!((stored_hour(early).await, stored_hour(late).await), (h - 1, h));
    // Marked, then changed within its hour: the mark stays, so the hour was not written.
    raw.exec(&format!(
        "UPDATE tickets SET updated_hour = -5 WHERE ticket_id = {late}"
    ))
    .await;
    let say = |at: i64, n: u32| {
        let store = store.clone();
        let helpdesk = helpdesk.clone();
        async move {
            tickets::change(&*store, &helpdesk, late, |_, _| {
                Ok(vec![guest_says(at, "ou_guest", &format!("om_hour{n}"))])
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(say(h * HOUR + HOUR - 1, 1).await.updated_at, h * HOUR + HOUR - 1);
    assert_eq!(
        stored_hour(late).await,
        -5,
        "a change within the hour does not write it"
    );
    // Into the next hour: written, and found there.
    say(h * HOUR + HOUR, 2).await;
    assert_eq!(stored_hour(late).await, h + 1);
    assert_eq!(updated_between(h * HOUR, h * HOUR + HOUR - 1).await, vec![]);
    assert_eq!(
        updated_between(h * HOUR + HOUR, h * HOUR + HOUR).await,
        vec![late]
    );
}

/// Run `test` on a fresh database (`larkdesk_test_<random hex>`) of the PostgreSQL server whose
/// admin URL is in `ADMIN_URL_VAR`, then drop it, whether the test passed or not; skipped when
/// the variable is not set.
async fn on_fresh_postgres<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(admin) = std::env::var(ADMIN_URL_VAR) else {
        eprintln!("{ADMIN_URL_VAR} is not set: PostgreSQL backend test skipped");
        return;
    };
    let name = format!("larkdesk_test_{}", ids::new_tenant_key());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the admin database");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    // Run in a task so that a failure still reaches the cleanup below.
    let outcome = tokio::spawn(test(with_database(&admin, &name))).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// A pooled PostgreSQL connection that the server closed while it sat idle (a restart, a
/// proxy's idle timeout) is found dead before it is used, and replaced: the next request
/// succeeds. (Connections in steady use are not checked, which saves each request a round trip.)
#[tokio::test]
async fn a_postgres_connection_closed_while_idle_is_replaced() {
    on_fresh_postgres(|url| async move {
        // One pooled connection: the one the server closes is the one the next read gets.
        let store = larkdesk_store::connect(&url, 1).await.unwrap();
        store.tenants().await.unwrap();
        let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
        let closed: i64 = sqlx::query_scalar(
            // The backends to close are chosen first (the planner may test a WHERE's conditions
            // in any order, and this must close no one else's connection).
            "WITH theirs AS MATERIALIZED (
                 SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid())
             SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM theirs",
        )
        .fetch_one(&mut other)
        .await
        .unwrap();
        assert!(closed >= 1, "the store's connection was closed by the server");
        // Idle for longer than the pool's ping threshold (1 s).
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        store
            .tenants()
            .await
            .expect("a read after the server closed the idle connection");
    })
    .await;
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    for url in ["mysql://localhost/db", "larkdesk.db", "postgres:/nope"] {
        let err = larkdesk_store::connect(url, 1).await.err().expect(url);
        assert!(
            err.to_string().contains("unsupported database URL"),
            "{url}: {err}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_postgres_fails_fast() {
    // Nothing listens on port 1; the pool gives up after its acquire timeout (5 s) at most.
    let started = std::time::Instant::now();
    let result = larkdesk_store::connect("postgres://postgres@127.0.0.1:1/larkdesk", 2).await;
    assert!(result.is_err());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn database_urls() {
    let cases = [
        ("postgres://u@h:5432/postgres", "postgres://u@h:5432/x"),
        ("postgres://u@h:5432", "postgres://u@h:5432/x"),
        (
            "postgresql://u:p@h/db?sslmode=disable",
            "postgresql://u:p@h/x?sslmode=disable",
        ),
    ];
    for (admin, want) in cases {
        assert_eq!(with_database(admin, "x"), want);
    }
}

/// `admin` with its database replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').map_or((admin, ""), |(b, q)| (b, q));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &base[..path])
}

fn user(id: &str, name: &str) -> TicketUser {
    TicketUser {
        id: id.to_owned(),
        name: name.to_owned(),
        email: format!("{name}@example.com").to_lowercase(),
        ..Default::default()
    }
}

fn event(at_ms: i64, actor: Actor, kind: EventKind) -> TicketEvent {
    TicketEvent { at_ms, actor, kind }
}

fn guest_says(at_ms: i64, guest: &str, message_id: &str) -> TicketEvent {
    event(
        at_ms,
        Actor::Guest(guest.to_owned()),
        EventKind::Message {
            sender: Sender::Guest,
            sender_id: guest.to_owned(),
            message_id: message_id.to_owned(),
            msg_type: "text".to_owned(),
            content: format!(r#"{{"text":"{message_id}"}}"#),
        },
    )
}

/// A filter with what `set` sets.
fn by(set: impl FnOnce(&mut TicketFilter)) -> TicketFilter {
    let mut filter = TicketFilter::default();
    set(&mut filter);
    filter
}

fn ticket_ids(tickets: &[Ticket]) -> Vec<TicketId> {
    tickets
        .iter()
        .map(|t| TicketId::parse(&t.ticket_id).unwrap())
        .collect()
}

async fn story(backend: Backend, url: String) {
    let a = larkdesk_store::connect(&url, 8).await.expect("first instance");
    let b = larkdesk_store::connect(&url, 8).await.expect("second instance");
    // The ticket use cases, over each instance.
    let service_a = Tickets::new(a.clone(), Clock::system());
    let service_b = Tickets::new(b.clone(), Clock::system());
    let raw = Raw::connect(backend, &url).await;
    let t0: i64 = 1_700_000_000_000;

    // --- Installation secrets: concurrent first calls agree on one value.
    assert!(a.is_empty().await.unwrap());
    let inits = (0..8u8).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { store.secret_or_init("signing", vec![i; 4]).await.unwrap() })
    });
    let mut values = Vec::new();
    for init in inits {
        values.push(init.await.unwrap());
    }
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    assert_eq!(b.secret("signing").await.unwrap(), Some(values[0].clone()));
    a.set_secret("signing", vec![9, 9]).await.unwrap();
    assert_eq!(b.secret_or_init("signing", vec![1]).await.unwrap(), vec![9, 9]);
    assert_eq!(a.secret("missing").await.unwrap(), None);

    // --- Console entities and their error mapping.
    let tenant = a.create_tenant("00000000000000aa", "Acme").await.unwrap();
    assert!(matches!(
        b.create_tenant("00000000000000aa", "Again").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.tenant_by_key("00000000000000aa").await.unwrap(), tenant);
    assert_eq!(b.tenant_by_id(tenant.id).await.unwrap(), tenant);
    assert!(matches!(
        b.tenant_by_id(TenantRowId(tenant.id.0 + 1000)).await,
        Err(StoreError::NotFound)
    ));
    assert!(!b.is_empty().await.unwrap());

    let app = a
        .create_app(NewApp {
            app_id: "cli_0123456789abcdef".into(),
            tenant_id: tenant.id,
            name: "Bot".into(),
            app_type: AppType::Custom,
            scopes: vec!["helpdesk:all".into()],
            secret_hash: SecretHash::of("s1"),
        })
        .await
        .unwrap();
    a.set_app_scopes(&app.app_id, &["a".into(), "b".into()])
        .await
        .unwrap();
    a.set_app_secret(&app.app_id, &SecretHash::of("s2"))
        .await
        .unwrap();
    let stored = b.app_by_app_id(&app.app_id).await.unwrap();
    assert_eq!(stored.scopes, vec!["a".to_owned(), "b".to_owned()]);
    assert!(stored.secret_hash.matches("s2"));
    assert_eq!(stored.app_type, AppType::Custom);
    assert_eq!(b.app_by_row_id(app.id).await.unwrap().app_id, app.app_id);
    assert!(matches!(
        a.set_app_scopes("cli_missing", &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        a.app_by_app_id("cli_missing").await,
        Err(StoreError::NotFound)
    ));

    // record_token keeps the token that expires last.
    assert_eq!(a.current_token(app.id, "tenant").await.unwrap(), None);
    a.record_token(app.id, "tenant", 100, 200).await.unwrap();
    b.record_token(app.id, "tenant", 150, 180).await.unwrap();
    assert_eq!(a.current_token(app.id, "tenant").await.unwrap(), Some((100, 200)));
    b.record_token(app.id, "tenant", 300, 400).await.unwrap();
    assert_eq!(a.current_token(app.id, "tenant").await.unwrap(), Some((300, 400)));

    let helpdesk = a
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: "7000000000000000100".into(),
            tenant_id: tenant.id,
            name: "Support".into(),
            token_hash: SecretHash::of("t1"),
        })
        .await
        .unwrap();
    let other_desk = a
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: "7000000000000000200".into(),
            tenant_id: tenant.id,
            name: "Other".into(),
            token_hash: SecretHash::of("t1"),
        })
        .await
        .unwrap();
    b.set_helpdesk_token(&helpdesk.helpdesk_id, &SecretHash::of("t2"))
        .await
        .unwrap();
    assert!(
        a.helpdesk_by_public_id(&helpdesk.helpdesk_id)
            .await
            .unwrap()
            .token_hash
            .matches("t2")
    );
    assert!(matches!(
        a.create_helpdesk(NewHelpdesk {
            helpdesk_id: helpdesk.helpdesk_id.clone(),
            tenant_id: tenant.id,
            name: "Dup".into(),
            token_hash: SecretHash::of("t"),
        })
        .await,
        Err(StoreError::Conflict(_))
    ));

    // --- The directory: Overwrite takes the new profile, is_agent never goes back to false.
    a.upsert_user(tenant.id, &user("ou_agent", "Alice"), true)
        .await
        .unwrap();
    a.upsert_user(tenant.id, &user("ou_guest", "Gus"), false)
        .await
        .unwrap();
    b.upsert_user(tenant.id, &user("ou_guest", "Gustav"), false)
        .await
        .unwrap();
    b.upsert_user(tenant.id, &user("ou_agent", "Alice"), false)
        .await
        .unwrap();
    let record = a.user(tenant.id, "ou_agent").await.unwrap();
    assert!(record.is_agent);
    assert_eq!(a.user_by_row_id(record.id).await.unwrap().user.name, "Alice");
    assert_eq!(a.user(tenant.id, "ou_guest").await.unwrap().user.name, "Gustav");
    assert!(matches!(
        a.user(tenant.id, "ou_nobody").await,
        Err(StoreError::NotFound)
    ));

    // --- A ticket from its first events.
    let t1 = TicketId::new(7_000_000_000_000_000_001);
    let created = tickets::create(
        &*a,
        &helpdesk,
        t1,
        "oc_chat",
        vec![event(
            t0,
            Actor::Guest("ou_guest".into()),
            EventKind::Created {
                guest_id: "ou_guest".into(),
                channel: 0,
                human_service: true,
            },
        )],
        &[],
    )
    .await
    .unwrap();
    assert_eq!((created.ticket_type, created.status), (2, 3));
    assert_eq!(
        created.guest.name, "Gustav",
        "people come filled from the directory"
    );
    assert!(matches!(
        tickets::create(
            &*b,
            &helpdesk,
            t1,
            "",
            vec![event(
                t0,
                Actor::System,
                EventKind::Created {
                    guest_id: "x".into(),
                    channel: 0,
                    human_service: false
                }
            )],
            &[]
        )
        .await,
        Err(Error::Conflict(_))
    ));
    let never = TicketId::new(t1.get() + 50);
    assert!(matches!(
        tickets::create(
            &*b,
            &helpdesk,
            never,
            "",
            vec![event(t0, Actor::System, EventKind::Reopened)],
            &[]
        )
        .await,
        Err(Error::Lifecycle(LifecycleError::NotCreated))
    ));
    assert!(matches!(
        b.ticket(&helpdesk, never).await,
        Err(StoreError::NotFound)
    ));

    let tags = a
        .tags_for_names(&helpdesk, &["vip".into(), "billing".into()])
        .await
        .unwrap();
    assert_eq!(
        b.tags_for_names(&helpdesk, &["vip".into()]).await.unwrap()[0],
        tags[0]
    );
    let ticket = tickets::change(&*b, &helpdesk, t1, |_, _| {
        Ok(vec![
            event(
                t0 + 1_000,
                Actor::Agent("ou_agent".into()),
                EventKind::AgentEntered {
                    agent_id: "ou_agent".into(),
                },
            ),
            event(
                t0 + 2_000,
                Actor::System,
                EventKind::Tagged { tags: tags.clone() },
            ),
            guest_says(t0 + 3_000, "ou_guest", "om_first"),
        ])
    })
    .await
    .unwrap();
    assert_eq!(ticket.status, 2);
    assert_eq!(ticket.agents, vec![user("ou_agent", "Alice")]);
    assert_eq!(ticket.agent_owner, Some(user("ou_agent", "Alice")));
    assert_eq!(ticket.agent_entry_time, t0 + 1_000);
    assert_eq!(ticket.tags.len(), 2);
    assert_eq!(
        a.ticket(&helpdesk, t1).await.unwrap(),
        ticket,
        "read back as written"
    );

    // The lifecycle refuses, nothing is written.
    let before = a.ticket_events(&helpdesk, t1).await.unwrap();
    assert!(matches!(
        tickets::change(&*a, &helpdesk, t1, |_, _| Ok(vec![event(
            t0 + 4_000,
            Actor::System,
            EventKind::Reopened
        )]))
        .await,
        Err(Error::Lifecycle(LifecycleError::NotClosed))
    ));
    assert_eq!(a.ticket_events(&helpdesk, t1).await.unwrap(), before);
    // Other helpdesks' tickets do not exist.
    assert!(matches!(
        a.ticket(&other_desk, t1).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tickets::change(&*a, &other_desk, t1, |_, _| Ok(vec![guest_says(
            t0, "ou_guest", "om_x"
        )]))
        .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        a.ticket_events(&other_desk, t1).await,
        Err(StoreError::NotFound)
    ));

    // --- 16 tasks over two instances append to one ticket at once, several times each: none
    // is lost, and the log never runs backwards (each is stamped earlier than the one before
    // and clamped).
    const TASKS: i64 = 16;
    const ROUNDS: i64 = 4;
    let start = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let appends = (0..TASKS).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let helpdesk = helpdesk.clone();
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            for round in 0..ROUNDS {
                let message_id = format!("om_c{i:02}_{round}");
                tickets::change(&*store, &helpdesk, t1, |_, _| {
                    Ok(vec![guest_says(t0 + 10_000 - i, "ou_guest", &message_id)])
                })
                .await
                .unwrap_or_else(|e| panic!("append {message_id}: {e}"));
            }
        })
    });
    for append in appends.collect::<Vec<_>>() {
        append.await.unwrap();
    }
    let appended = (TASKS * ROUNDS) as usize;
    let log = b.ticket_events(&helpdesk, t1).await.unwrap();
    assert_eq!(log.len(), before.len() + appended);
    assert!(
        log.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "log in time order"
    );
    let (total, messages) = a
        .list_messages(&helpdesk, t1, (None, None), 0, 100)
        .await
        .unwrap();
    assert_eq!(total as usize, 1 + appended);
    let mut sent: Vec<_> = messages.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(sent[0], "om_first");
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 1 + appended);
    assert!(
        messages
            .iter()
            .all(|m| m.user_name == "Gustav" && m.user_id == "ou_guest")
    );
    assert!(messages.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    // Each message's content is read from its event, and stored nowhere else.
    for m in &messages {
        assert_eq!(m.content, format!(r#"{{"text":"{}"}}"#, m.message_id));
    }
    assert_eq!(
        raw.count(&format!(
            "SELECT count(*) FROM ticket_messages WHERE ticket_id = {t1} AND content <> ''"
        ))
        .await,
        0,
        "a message's content is stored once, in its event"
    );
    let (total, page) = a
        .list_messages(&helpdesk, t1, (Some(t0 + 3_000), Some(t0 + 3_000)), 0, 100)
        .await
        .unwrap();
    assert_eq!((total, page.len()), (1, 1));
    let (total, page) = a
        .list_messages(&helpdesk, t1, (None, None), 60, 10)
        .await
        .unwrap();
    assert_eq!((total, page.len()), (65, 5));

    let stored = b
        .message_by_event_id(&helpdesk, t1, &ids::message_event_id("om_first"))
        .await
        .unwrap();
    assert_eq!(
        (
            stored.ticket_id,
            stored.message.position,
            stored.message.sender_type
        ),
        (t1, 1, 2)
    );
    assert_eq!(stored.message.message_id, "om_first");
    assert_eq!(stored.message.content, r#"{"text":"om_first"}"#);
    assert!(matches!(
        b.message_by_event_id(&other_desk, t1, &ids::message_event_id("om_first"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(
            b.message_by_event_id(
                &helpdesk,
                TicketId::new(t1.get() + 1_000),
                &ids::message_event_id("om_first")
            )
            .await,
            Err(StoreError::NotFound)
        ),
        "an event id is looked up within its ticket only"
    );

    // --- A bot-stage ticket, and an import.
    let t2 = TicketId::new(t1.get() + 1);
    tickets::create(
        &*b,
        &helpdesk,
        t2,
        "oc_two",
        vec![event(
            t0 + 5,
            Actor::Guest("ou_guest2".into()),
            EventKind::Created {
                guest_id: "ou_guest2".into(),
                channel: 3,
                human_service: false,
            },
        )],
        &[],
    )
    .await
    .unwrap();

    let t3 = TicketId::new(t1.get() + 2);
    let mut snapshot = lifecycle::empty_ticket(&t3.to_string(), "");
    snapshot.guest = user("ou_imported_guest", "Nina");
    snapshot.ticket_type = 2;
    snapshot.status = 51;
    snapshot.solve = 2;
    snapshot.created_at = t0 - 100_000;
    snapshot.updated_at = t0 - 50_000;
    snapshot.closed_at = t0 - 50_000;
    snapshot.agents = vec![user("ou_agent", "Mallory")];
    snapshot.agent_owner = Some(user("ou_agent", "Mallory"));
    snapshot.collaborators = vec![user("ou_helper", "Hal")];
    snapshot.closed_by = Some(user("ou_agent", "Mallory"));
    snapshot.agent_service_duration = 1.25;
    tickets::import(&*a, &helpdesk, &snapshot).await.unwrap();
    let imported = b.ticket(&helpdesk, t3).await.unwrap();
    assert_eq!(
        imported.guest,
        user("ou_imported_guest", "Nina"),
        "new people are added"
    );
    assert_eq!(
        imported.agents,
        vec![user("ou_agent", "Alice")],
        "known people keep theirs"
    );
    assert_eq!(imported.collaborators, vec![user("ou_helper", "Hal")]);
    assert_eq!(imported.closed_by, Some(user("ou_agent", "Alice")));
    assert_eq!(imported.agent_owner, Some(user("ou_agent", "Alice")));
    assert_eq!(imported.agent_service_duration, 1.25);
    // A person missing from the directory keeps just the id; a ticket naming nobody in it
    // still reads (both backends read ticket and people in one query, so check both shapes).
    let restore = format!(
        "UPDATE tickets SET guest_id = 'ou_imported_guest', agent_ids = '[\"ou_agent\"]',
            collaborator_ids = '[\"ou_helper\"]', closed_by_id = 'ou_agent',
            agent_owner_id = 'ou_agent' WHERE ticket_id = {t3}"
    );
    let stranger = TicketUser {
        id: "ou_stranger".into(),
        ..TicketUser::default()
    };
    // Each of the five columns names someone no other column does.
    raw.exec(&format!(
        "UPDATE tickets SET collaborator_ids = '[\"ou_stranger\"]', closed_by_id = 'ou_helper',
            agent_owner_id = 'ou_guest' WHERE ticket_id = {t3}"
    ))
    .await;
    let partly_known = b.ticket(&helpdesk, t3).await.unwrap();
    let gus = a.user(tenant.id, "ou_guest").await.unwrap().user;
    assert_eq!(
        (
            partly_known.guest,
            partly_known.agents,
            partly_known.collaborators,
            partly_known.closed_by,
            partly_known.agent_owner
        ),
        (
            imported.guest.clone(),
            imported.agents.clone(),
            vec![stranger.clone()],
            Some(user("ou_helper", "Hal")),
            Some(gus)
        )
    );
    raw.exec(&format!(
        "UPDATE tickets SET guest_id = 'ou_stranger', agent_ids = '[]', collaborator_ids = '[]',
            closed_by_id = NULL, agent_owner_id = NULL WHERE ticket_id = {t3}"
    ))
    .await;
    // Someone of that id in another tenant's directory is not this tenant's person.
    let elsewhere = a.create_tenant("00000000000000bb", "Elsewhere").await.unwrap();
    a.upsert_user(elsewhere.id, &user("ou_stranger", "Not yours"), false)
        .await
        .unwrap();
    let unknown = b.ticket(&helpdesk, t3).await.unwrap();
    assert_eq!(
        (unknown.guest, unknown.agents, unknown.closed_by),
        (stranger, vec![], None)
    );
    raw.exec(&restore).await;
    assert_eq!(b.ticket(&helpdesk, t3).await.unwrap(), imported);
    assert_eq!(imported.status, 51);
    assert!(a.user(tenant.id, "ou_agent").await.unwrap().is_agent);
    assert!(!a.user(tenant.id, "ou_helper").await.unwrap().is_agent);
    let directory: Vec<(String, bool)> = a
        .users(tenant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, agent)| (u.id, agent))
        .collect();
    let want = [
        ("ou_agent", true),
        ("ou_guest", false),
        ("ou_imported_guest", false),
        ("ou_helper", false),
    ];
    assert_eq!(
        directory,
        want.map(|(id, agent)| (id.to_owned(), agent)).to_vec(),
        "directory in creation order"
    );
    let mut again = snapshot.clone();
    again.guest = user("ou_never", "Never");
    assert!(matches!(
        tickets::import(&*b, &helpdesk, &again).await,
        Err(Error::Conflict(_))
    ));
    // One transaction: a refused import adds nobody.
    assert!(matches!(
        a.user(tenant.id, "ou_never").await,
        Err(StoreError::NotFound)
    ));
    let mut bad = snapshot.clone();
    bad.ticket_id = "12x".into();
    assert!(matches!(
        tickets::import(&*a, &helpdesk, &bad).await,
        Err(Error::Invalid(_))
    ));

    // --- Lists: newest first, filters, the page window.
    let list = |filter: TicketFilter, offset: i64, limit: i64| {
        let store = a.clone();
        let helpdesk = helpdesk.clone();
        async move {
            let (total, tickets) = store
                .list_tickets(&helpdesk, ListRequest::new(&filter, offset, limit))
                .await
                .unwrap();
            (total, ticket_ids(&tickets))
        }
    };
    assert_eq!(list(TicketFilter::default(), 0, 10).await, (3, vec![t2, t1, t3]));
    assert_eq!(list(TicketFilter::default(), 1, 1).await, (3, vec![t1]));
    let (_, page) = a
        .list_tickets(&helpdesk, ListRequest::new(&TicketFilter::default(), 0, 10))
        .await
        .unwrap();
    assert_eq!(
        page[1],
        a.ticket(&helpdesk, t1).await.unwrap(),
        "list shows tickets in full"
    );
    let (total, same_page) = b
        .list_tickets(
            &helpdesk,
            ListRequest::new(&TicketFilter::default(), 0, 10).known_total(Some(42)),
        )
        .await
        .unwrap();
    assert_eq!((total, &same_page), (42, &page), "a known total is not recounted");
    // The same page from the tickets' stored renders: the JSON `GET /tickets` sends either way.
    let as_json = |tickets: &[Ticket]| {
        tickets
            .iter()
            .map(|t| serde_json::to_value(t).unwrap())
            .collect::<Vec<_>>()
    };
    match service_a
        .list_page(&helpdesk, ListRequest::new(&TicketFilter::default(), 0, 10))
        .await
        .unwrap()
    {
        (3, TicketPage::Rendered(renders)) => assert_eq!(
            renders
                .iter()
                .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap())
                .collect::<Vec<_>>(),
            as_json(&page),
            "renders are the page"
        ),
        other => panic!("every ticket has a current render: {other:?}"),
    }
    // A profile changed since the renders were made: the page is read from projections.
    a.upsert_user(tenant.id, &user("ou_agent", "Renamed Agent"), true)
        .await
        .unwrap();
    let (_, stale) = a
        .list_ticket_renders(
            &helpdesk,
            ListRequest::new(&TicketFilter::default(), 0, 10).known_total(Some(3)),
        )
        .await
        .unwrap();
    assert_eq!(stale, None, "no page of renders made before the rename");
    match service_a
        .list_page(
            &helpdesk,
            ListRequest::new(&TicketFilter::default(), 0, 10).known_total(Some(3)),
        )
        .await
        .unwrap()
    {
        (3, TicketPage::Tickets(tickets)) => {
            assert_eq!(tickets.len(), 3);
            assert_eq!(
                tickets[1].agent_owner.as_ref().map(|a| a.name.as_str()),
                Some("Renamed Agent")
            );
        }
        other => panic!("renders made before the rename are not served: {other:?}"),
    }
    assert_eq!(
        list(by(|f| f.agent_id = Some("ou_agent".into())), 0, 10).await,
        (2, vec![t1, t3])
    );
    assert_eq!(
        list(by(|f| f.agent_id = Some("ou_ag".into())), 0, 10).await,
        (0, vec![])
    );
    assert_eq!(
        list(by(|f| f.tags = vec!["vip".into()]), 0, 10).await,
        (1, vec![t1])
    );
    assert_eq!(
        list(by(|f| f.tags = vec!["nope".into(), "billing".into()]), 0, 10).await,
        (1, vec![t1])
    );
    assert_eq!(
        list(by(|f| f.tags = vec!["nope".into()]), 0, 10).await,
        (0, vec![])
    );
    assert_eq!(
        list(by(|f| f.status_list = vec![1, 51]), 0, 10).await,
        (2, vec![t2, t3])
    );
    assert_eq!(
        list(by(|f| f.guest_name = Some("Gustav".into())), 0, 10).await,
        (1, vec![t1])
    );
    assert_eq!(
        list(by(|f| f.guest_id = Some("ou_guest2".into())), 0, 10).await,
        (1, vec![t2])
    );
    assert_eq!(
        list(by(|f| f.closed_by_id = Some("ou_agent".into())), 0, 10).await,
        (1, vec![t3])
    );
    assert_eq!(list(by(|f| f.channel = Some(3)), 0, 10).await, (1, vec![t2]));
    assert_eq!(list(by(|f| f.ticket_type = Some(1)), 0, 10).await, (1, vec![t2]));
    assert_eq!(list(by(|f| f.solved = Some(2)), 0, 10).await, (1, vec![t3]));
    assert_eq!(list(by(|f| f.ticket_id = Some(t3)), 0, 10).await, (1, vec![t3]));
    assert_eq!(
        list(by(|f| f.created = Some((t0, t0 + 5))), 0, 10).await,
        (2, vec![t2, t1])
    );
    // t2 was never updated: `updated_at` -1 matches no range.
    assert_eq!(
        list(by(|f| f.updated = Some((0, i64::MAX))), 0, 10).await,
        (2, vec![t1, t3])
    );
    assert_eq!(
        list(
            by(|f| {
                f.agent_id = Some("ou_agent".into());
                f.status_list = vec![2];
            }),
            0,
            10
        )
        .await,
        (1, vec![t1])
    );

    // --- Images and bot messages.
    a.put_image("om_first", 0, "image/png", &[0, 1, 2, 255])
        .await
        .unwrap();
    assert!(matches!(
        b.put_image("om_first", 0, "image/png", &[1]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.image(&helpdesk, t1, "om_first", 0).await.unwrap(),
        ("image/png".to_owned(), vec![0, 1, 2, 255])
    );
    assert!(matches!(
        b.image(&helpdesk, t2, "om_first", 0).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        b.image(&helpdesk, t1, "om_first", 1).await,
        Err(StoreError::NotFound)
    ));
    a.record_bot_message(
        &helpdesk,
        &BotMessage {
            message_id: "om_bot".into(),
            receiver_id: "ou_guest".into(),
            receive_type: "open_id".into(),
            msg_type: "text".into(),
            content: "{}".into(),
            at_ms: t0,
        },
    )
    .await
    .unwrap();

    // --- Customized fields.
    let def = |key: &str, visible: bool| FieldDefinition {
        key_name: key.into(),
        display_name: key.to_uppercase(),
        position: "1".into(),
        field_type: "string".into(),
        description: String::new(),
        visible,
        editable: true,
        required: false,
        dropdown_allow_multiple: false,
        dropdown_options: None,
    };
    a.create_field(&helpdesk, "f1", &def("alpha", true), "ou_agent", t0)
        .await
        .unwrap();
    a.create_field(&helpdesk, "f2", &def("beta", false), "ou_agent", t0)
        .await
        .unwrap();
    b.create_field(&helpdesk, "f3", &def("gamma", true), "ou_agent", t0)
        .await
        .unwrap();
    assert!(matches!(
        b.create_field(&helpdesk, "f4", &def("alpha", true), "ou_agent", t0)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let field = b.field(&helpdesk, "f2").await.unwrap();
    assert_eq!(
        (field.key_name.as_str(), field.visible, field.editable),
        ("beta", false, true)
    );
    assert_eq!(field.created_by.id, "ou_agent");
    let all = a.list_fields(&helpdesk, None, 0, i64::MAX).await.unwrap();
    let keys: Vec<_> = all.iter().map(|(_, f)| f.key_name.as_str()).collect();
    assert_eq!(keys, ["alpha", "beta", "gamma"]);
    let visible = a.list_fields(&helpdesk, Some(true), 0, 10).await.unwrap();
    assert_eq!(visible.len(), 2);
    let hidden = a.list_fields(&helpdesk, Some(false), 0, 10).await.unwrap();
    assert_eq!(hidden[0].1.key_name, "beta");
    let after_first = a.list_fields(&helpdesk, None, all[0].0, 1).await.unwrap();
    assert_eq!(after_first[0].1.key_name, "beta");
    let mut changed = def("ignored", true);
    changed.display_name = "Beta!".into();
    a.update_field(&helpdesk, "f2", &changed, "ou_other", t0 + 1)
        .await
        .unwrap();
    let field = b.field(&helpdesk, "f2").await.unwrap();
    assert_eq!((field.display_name.as_str(), field.visible), ("Beta!", true));
    assert_eq!(field.updated_at, (t0 + 1).to_string());
    assert_eq!(field.updated_by.id, "ou_other");
    assert!(matches!(
        a.update_field(&helpdesk, "nope", &changed, "x", t0).await,
        Err(StoreError::NotFound)
    ));
    a.delete_field(&helpdesk, "f2").await.unwrap();
    assert!(matches!(
        a.delete_field(&helpdesk, "f2").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        b.field(&other_desk, "f1").await,
        Err(StoreError::NotFound)
    ));

    // --- Rebuild: nothing to change, then repair damaged projections.
    assert_eq!(
        service_a.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 3,
            changed: 0
        }
    );
    let good = a.ticket(&helpdesk, t1).await.unwrap();
    raw.exec(&format!("UPDATE tickets SET status = 4 WHERE ticket_id = {t1}"))
        .await;
    raw.exec(&format!(
        "DELETE FROM ticket_messages WHERE message_id = 'om_c03_1' AND ticket_id = {t1}"
    ))
    .await;
    assert_eq!(a.ticket(&helpdesk, t1).await.unwrap().status, 4);
    assert_eq!(
        a.list_messages(&helpdesk, t1, (None, None), 0, 100)
            .await
            .unwrap()
            .0,
        64,
        "the damage took"
    );
    assert_eq!(
        service_b.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 3,
            changed: 1
        }
    );
    assert_eq!(a.ticket(&helpdesk, t1).await.unwrap(), good);
    assert_eq!(
        a.list_messages(&helpdesk, t1, (None, None), 0, 100)
            .await
            .unwrap()
            .0,
        65
    );
    assert_eq!(
        service_a.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 3,
            changed: 0
        }
    );

    // --- Bulk loads write what one-by-one creation writes: copies of t1's log (message ids made
    // unique) come out as t1's projection, messages and log; a duplicate id writes nothing.
    let log = a.ticket_events(&helpdesk, t1).await.unwrap();
    let copy_of = |n: i64| NewTicket {
        id: TicketId::new(t1.get() + 100 + n),
        chat_id: format!("oc_bulk{n}"),
        events: log
            .iter()
            .cloned()
            .map(|mut e| {
                if let EventKind::Message { message_id, .. } = &mut e.kind {
                    *message_id = format!("{message_id}_bulk{n}");
                }
                e
            })
            .collect(),
    };
    service_b
        .create_many(&helpdesk, &[copy_of(0), copy_of(1), copy_of(2)])
        .await
        .unwrap();
    b.finish_bulk_load().await.unwrap();
    if let Raw::Postgres(pool) = &raw {
        // Every table a bulk load writes has planner statistics afterwards.
        let unanalyzed: Vec<String> = sqlx::query_scalar(
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE relname IN ('tickets', 'ticket_events', 'ticket_messages', 'users')
               AND last_analyze IS NULL ORDER BY relname",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(unanalyzed, Vec::<String>::new());
    }
    for n in 0..3 {
        let id = TicketId::new(t1.get() + 100 + n);
        let mut copy = a.ticket(&helpdesk, id).await.unwrap();
        assert_eq!(copy.ticket_id, id.to_string());
        copy.ticket_id = good.ticket_id.clone();
        assert_eq!(copy, good, "bulk copy {n}");
        assert_eq!(a.ticket_events(&helpdesk, id).await.unwrap(), copy_of(n).events);
        let (total, messages) = a
            .list_messages(&helpdesk, id, (None, None), 0, 100)
            .await
            .unwrap();
        let (_, originals) = a
            .list_messages(&helpdesk, t1, (None, None), 0, 100)
            .await
            .unwrap();
        assert_eq!(total, 65);
        for (m, o) in messages.iter().zip(&originals) {
            assert_eq!(m.message_id, format!("{}_bulk{n}", o.message_id));
            assert_eq!((&m.content, m.created_at), (&o.content, o.created_at));
        }
    }
    assert!(matches!(
        service_b.create_many(&helpdesk, &[copy_of(3), copy_of(1)]).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        a.ticket(&helpdesk, TicketId::new(t1.get() + 103)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        service_a.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 6,
            changed: 0
        }
    );

    // --- A change applies only its new events to the stored projection and the state kept
    // beside it. A ticket stored before that state was kept (migration 0007) is replayed from its
    // log once, on its next change; from then on its state is the one a replay makes, and a
    // damaged state is what rebuild repairs.
    raw.exec(&format!(
        "UPDATE tickets SET log_state = NULL WHERE ticket_id = {t1}"
    ))
    .await;
    tickets::change(&*b, &helpdesk, t1, |_, _| {
        Ok(vec![guest_says(t0 + 20_000, "ou_guest", "om_late")])
    })
    .await
    .unwrap();
    let late = a
        .message_by_event_id(&helpdesk, t1, &ids::message_event_id("om_late"))
        .await
        .unwrap();
    assert_eq!(late.message.position, 66, "numbered after the log's 65");
    assert_eq!(
        service_a.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 6,
            changed: 0
        },
        "the change kept the state a replay makes"
    );
    raw.exec(&format!(
        r#"UPDATE tickets SET log_state = '{{"events":1,"messages":0,"comments":0,"replay":{{"clock":null}}}}'
           WHERE ticket_id = {t1}"#
    ))
    .await;
    assert_eq!(
        service_b.rebuild().await.unwrap(),
        RebuildReport {
            tickets: 6,
            changed: 1
        }
    );
    tickets::change(&*a, &helpdesk, t1, |_, _| {
        Ok(vec![guest_says(t0 + 21_000, "ou_guest", "om_later")])
    })
    .await
    .unwrap();
    let later = b
        .message_by_event_id(&helpdesk, t1, &ids::message_event_id("om_later"))
        .await
        .unwrap();
    assert_eq!(later.message.position, 67, "the repaired state numbers on");
    assert_eq!(
        a.ticket_events(&helpdesk, t1).await.unwrap().len(),
        before.len() + 64 + 2
    );

    // --- Text PostgreSQL cannot hold is the caller's bad input there, not a database outage.
    let nul = a.tenant_by_key("a\0b").await;
    match backend {
        Backend::Sqlite => assert!(matches!(nul, Err(StoreError::NotFound)), "{nul:?}"),
        Backend::Postgres => assert!(matches!(nul, Err(StoreError::BadInput(_))), "{nul:?}"),
    }
}
