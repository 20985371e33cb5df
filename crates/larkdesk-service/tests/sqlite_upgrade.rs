//! Upgrading a SQLite database written before migration 0006, which re-keyed tickets by their
//! public ticket_id and pointed the event log and the messages at it: nothing is lost, and
//! everything still finds its ticket. And one with the query planner's statistics, written
//! before an index was added (0016).

use std::path::{Path, PathBuf};

use larkdesk_domain::events::{Actor, EventKind, Sender, TicketEvent};
use larkdesk_domain::ids::TicketId;
use larkdesk_service::tickets::{self, Tickets};
use larkdesk_store::{ListRequest, TicketFilter};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const HELPDESK: &str = "7000000000000000100";
// Row ids 1 and 2 in the old schema, in the opposite order of their public ids, so that a
// migration confusing the two keys cannot pass.
const FIRST: TicketId = TicketId::new(7_000_000_000_000_000_002);
const SECOND: TicketId = TicketId::new(7_000_000_000_000_000_001);

fn created(at_ms: i64, guest: &str) -> TicketEvent {
    TicketEvent {
        at_ms,
        actor: Actor::Guest(guest.to_owned()),
        kind: EventKind::Created {
            guest_id: guest.to_owned(),
            channel: 0,
            human_service: true,
        },
    }
}

fn guest_says(at_ms: i64, guest: &str, message_id: &str) -> TicketEvent {
    TicketEvent {
        at_ms,
        actor: Actor::Guest(guest.to_owned()),
        kind: EventKind::Message {
            sender: Sender::Guest,
            sender_id: guest.to_owned(),
            message_id: message_id.to_owned(),
            msg_type: "text".to_owned(),
            content: format!(r#"{{"text":"{message_id}"}}"#),
        },
    }
}

/// A database file in `dir` with the migrations before `version` applied by sqlx, and a pool
/// on it with foreign keys on or off.
async fn database_before(dir: &Path, version: u32, foreign_keys: bool) -> (PathBuf, SqlitePool) {
    let file = dir.join("larkdesk.db");
    let pool = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .foreign_keys(foreign_keys),
    )
    .await
    .unwrap();
    let migrations = dir.join("migrations");
    migrations_before(&migrations, version);
    Migrator::new(migrations.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    (file, pool)
}

/// The migrations before `version`, as a directory sqlx can run.
fn migrations_before(dir: &Path, version: u32) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../larkdesk-store/migrations/sqlite");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name[..4].parse::<u32>().unwrap() < version {
            std::fs::copy(&path, dir.join(name)).unwrap();
        }
    }
}

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Two tickets with their logs and messages, written the way larkdesk wrote them before 0006:
/// children point at tickets.id, an internal row id.
async fn old_installation(pool: &SqlitePool) -> Vec<(TicketId, Vec<TicketEvent>)> {
    exec(
        pool,
        "INSERT INTO tenants (id, tenant_key, name, created_at) VALUES (1, 'tk', 'T', 0)",
    )
    .await;
    exec(
        pool,
        &format!(
            "INSERT INTO helpdesks (id, helpdesk_id, tenant_id, name, token_hash, created_at)
             VALUES (1, '{HELPDESK}', 1, 'Support', zeroblob(32), 0)"
        ),
    )
    .await;
    exec(
        pool,
        "INSERT INTO users (tenant_id, open_id, name) VALUES (1, 'ou_ann', 'Ann'), (1, 'ou_bob', 'Bob')",
    )
    .await;
    let tickets = vec![
        (
            FIRST,
            "ou_ann",
            vec![created(1_000, "ou_ann"), guest_says(2_000, "ou_ann", "om_a1")],
        ),
        (
            SECOND,
            "ou_bob",
            vec![created(1_500, "ou_bob"), guest_says(2_500, "ou_bob", "om_b1")],
        ),
    ];
    for (row_id, (ticket_id, guest, events)) in (1..).zip(&tickets) {
        exec(
            pool,
            &format!(
                "INSERT INTO tickets (id, ticket_id, helpdesk_id, guest_id, ticket_type, status, created_at,
                   updated_at)
                 VALUES ({row_id}, {ticket_id}, 1, '{guest}', 2, 3, {}, {})",
                events[0].at_ms,
                events.last().unwrap().at_ms,
            ),
        )
        .await;
    }
    // Event rows interleaved across the tickets, as concurrent traffic would leave them.
    for seq in 1..=2_usize {
        for (row_id, (_, _, events)) in (1..).zip(&tickets) {
            let event = &events[seq - 1];
            sqlx::query("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES (?, ?, ?, ?)")
                .bind(row_id)
                .bind(seq as i64)
                .bind(event.at_ms)
                .bind(serde_json::to_string(event).unwrap())
                .execute(pool)
                .await
                .unwrap();
        }
    }
    for (row_id, (_, guest, events)) in (1..).zip(&tickets) {
        let EventKind::Message {
            message_id, content, ..
        } = &events[1].kind
        else {
            unreachable!()
        };
        sqlx::query(
            "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type,
               sender_id, created_at, position)
             VALUES (?, ?, ?, 'text', ?, 1, ?, ?, 0)",
        )
        .bind(row_id)
        .bind(message_id)
        .bind(format!("ev_{message_id}"))
        .bind(content)
        .bind(guest)
        .bind(events[1].at_ms)
        .execute(pool)
        .await
        .unwrap();
    }
    // A message row no event of its ticket's log has: not in the log, so 0015 leaves it out (as
    // a rebuild would).
    exec(
        pool,
        "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type,
           sender_id, created_at, position)
         VALUES (1, 'om_orphan', 'ev_om_orphan', 'text', '{}', 1, 'ou_ann', 0, 0)",
    )
    .await;
    tickets.into_iter().map(|(id, _, events)| (id, events)).collect()
}

#[tokio::test]
async fn upgrading_to_tickets_keyed_by_ticket_id_keeps_every_ticket_log_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let (file, old) = database_before(dir.path(), 6, true).await;
    let tickets = old_installation(&old).await;
    old.close().await;

    let url = format!("sqlite://{}", file.display());
    let store = larkdesk_store::connect(&url, 2).await.expect("the upgrade runs");
    let helpdesk = store.helpdesk_by_public_id(HELPDESK).await.unwrap();

    for (ticket_id, events) in &tickets {
        let ticket = store.ticket(&helpdesk, *ticket_id).await.unwrap();
        assert_eq!(ticket.ticket_id, ticket_id.to_string());
        assert_eq!(ticket.created_at, events[0].at_ms);
        assert_eq!(&store.ticket_events(&helpdesk, *ticket_id).await.unwrap(), events);
        let (total, messages) = store
            .list_messages(&helpdesk, *ticket_id, (None, None), 0, 10)
            .await
            .unwrap();
        let EventKind::Message { message_id, .. } = &events[1].kind else {
            unreachable!()
        };
        assert_eq!((total, messages.len()), (1, 1));
        assert_eq!(&messages[0].message_id, message_id);
        let stored = store
            .message_by_event_id(&helpdesk, *ticket_id, &format!("ev_{message_id}"))
            .await
            .unwrap();
        assert_eq!(
            (stored.ticket_id, &stored.message.message_id),
            (*ticket_id, message_id)
        );
    }
    assert_eq!(
        store.ticket(&helpdesk, FIRST).await.unwrap().guest.name,
        "Ann",
        "people still come from the directory"
    );
    let (total, page) = store
        .list_tickets(&helpdesk, ListRequest::new(&TicketFilter::default(), 0, 10))
        .await
        .unwrap();
    let listed: Vec<&str> = page.iter().map(|t| t.ticket_id.as_str()).collect();
    assert_eq!(total, 2);
    assert_eq!(listed, [SECOND.to_string(), FIRST.to_string()], "newest first");
    // 0016 gave each ticket the hour of its update, which lists by update time read.
    let by_update = |from: i64, to: i64| TicketFilter {
        updated: Some((from, to)),
        ..TicketFilter::default()
    };
    for (range, want) in [((2_000, 2_000), 1), ((0, 3_600_000), 2), ((2_001, 2_499), 0)] {
        let filter = by_update(range.0, range.1);
        let (total, _) = store
            .list_tickets(&helpdesk, ListRequest::new(&filter, 0, 10))
            .await
            .unwrap();
        assert_eq!(total, want, "updated in {range:?}");
    }

    // The projections agree with the logs the upgrade carried over once rebuilt, and then stay.
    let service = Tickets::new(store.clone(), larkdesk_service::Clock::system());
    let rebuilt = service.rebuild().await.unwrap();
    assert_eq!(rebuilt.tickets, 2);
    assert_eq!(service.rebuild().await.unwrap().changed, 0);
    let after = tickets::change(&*store, &helpdesk, SECOND, |_, _| {
        Ok(vec![guest_says(3_000, "ou_bob", "om_b2")])
    })
    .await
    .unwrap();
    assert_eq!(after.ticket_id, SECOND.to_string());
    assert_eq!(store.ticket_events(&helpdesk, SECOND).await.unwrap().len(), 3);
    assert_eq!(store.ticket_events(&helpdesk, FIRST).await.unwrap().len(), 2);

    check_schema(&url).await;
    let pool = SqlitePool::connect(&url).await.unwrap();
    let messages: Vec<String> = sqlx::query_scalar("SELECT message_id FROM ticket_messages ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        messages,
        ["om_a1", "om_b1", "om_b2"],
        "each under its event; the orphan left out"
    );
}

/// The foreign keys now name the public id, and the database is whole.
async fn check_schema(url: &str) {
    let raw = SqlitePool::connect_with(url.parse::<SqliteConnectOptions>().unwrap().foreign_keys(true))
        .await
        .unwrap();
    let violations: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let orphan =
        sqlx::query("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES (1, 9, 0, '{}')")
            .execute(&raw)
            .await;
    assert!(orphan.is_err(), "row id 1 is no ticket any more: {orphan:?}");
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%\\_new' ESCAPE '\\' OR sql LIKE '%tickets_new%'",
    )
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(
        leftovers, 0,
        "no table or reference keeps the migration's working names"
    );
}

/// A database whose planner statistics were gathered before 0016 (a bulk load's ANALYZE) gets
/// the new index's too: without them the planner read every ticket page through it, sorting
/// the whole helpdesk, instead of reading the newest tickets off the creation-time index.
#[tokio::test]
async fn an_index_added_to_an_analyzed_database_gets_its_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (file, old) = database_before(dir.path(), 16, false).await;
    // Tickets of one helpdesk (no helpdesk row: foreign keys are off on this connection).
    exec(
        &old,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO tickets (ticket_id, helpdesk_id, guest_id, ticket_type, status, created_at, updated_at)
         SELECT i, 1, 'ou_guest', 2, 3, i * 1000, i * 1000 + 5 FROM n",
    )
    .await;
    exec(&old, "PRAGMA analysis_limit = 1000").await;
    exec(&old, "ANALYZE").await;
    old.close().await;

    let url = format!("sqlite://{}", file.display());
    drop(larkdesk_store::connect(&url, 2).await.expect("the upgrade runs"));
    let pool = SqlitePool::connect(&url).await.unwrap();
    let analyzed: Vec<String> =
        sqlx::query_scalar("SELECT idx FROM sqlite_stat1 WHERE tbl = 'tickets' ORDER BY idx")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        analyzed.iter().any(|i| i == "tickets_by_helpdesk_update_hour"),
        "{analyzed:?}"
    );
    // A page of the helpdesk's newest tickets, as the store asks for it.
    let plan = query_plan(&pool).await;
    let plan = plan.join(" | ");
    assert!(plan.contains("INDEX tickets_by_helpdesk_created"), "{plan}");
    assert_eq!(
        plan.matches("TEMP B-TREE").count(),
        1,
        "only the page's 20 rows sorted: {plan}"
    );
}

/// SQLite's plan for the page query above, one step a row.
async fn query_plan(pool: &SqlitePool) -> Vec<String> {
    use sqlx::Row;
    sqlx::query(
        "EXPLAIN QUERY PLAN SELECT t.ticket_id FROM tickets t WHERE t.ticket_id IN
           (SELECT t.ticket_id FROM tickets t WHERE t.helpdesk_id = 1
            ORDER BY t.created_at DESC, t.ticket_id DESC LIMIT 20)
         ORDER BY t.created_at DESC, t.ticket_id DESC",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("detail"))
    .collect()
}
