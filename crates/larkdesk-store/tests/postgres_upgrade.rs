//! Upgrading a PostgreSQL database written before migration 0006, which re-keyed tickets by their
//! public ticket_id and pointed the event log and the messages at it: nothing is lost, and
//! everything still finds its ticket. Runs when `LARKDESK_TEST_POSTGRES_URL` names an admin URL
//! such as `postgres://postgres@127.0.0.1:5432/postgres`: the test then creates a fresh database
//! `larkdesk_test_<random hex>`, upgrades it and drops it.
//!
//! Every check is raw SQL: this is about the schema and the data the migration leaves, not about
//! the store's queries.

use std::path::Path;
use std::time::Duration;

use larkdesk_domain::events::{Actor, EventKind, Sender, TicketEvent};
use larkdesk_domain::ids;
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgPool};

const ADMIN_URL_VAR: &str = "LARKDESK_TEST_POSTGRES_URL";

const HELPDESK: &str = "7000000000000000100";
// Internal ids 1, 2 and 3 in the old schema. FIRST and SECOND are in the opposite order of their
// public ids, so that a migration confusing the two keys cannot pass. THIRD's public id is
// FIRST's internal id: a migration that mixed the keys up would hand FIRST's log to THIRD, and
// one that kept UNIQUE (ticket_id, seq) while rewriting the children would fail, THIRD's rows
// (written first) taking the key FIRST's rows still hold.
const FIRST: i64 = 7_000_000_000_000_000_002;
const SECOND: i64 = 7_000_000_000_000_000_001;
const THIRD: i64 = 1;

/// The list and lookup indexes of the three tables, which the upgrade must keep (the update
/// time's under its name since 0016).
const INDEXES: [&str; 7] = [
    "tickets_by_helpdesk_created",
    "tickets_by_helpdesk_update_hour",
    "tickets_by_helpdesk_status",
    "tickets_by_helpdesk_type",
    "tickets_by_helpdesk_guest",
    "tickets_by_agent",
    "tickets_by_tag",
];

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

/// The migrations before 0006, as a directory sqlx can run.
fn migrations_before_0006(dir: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: u32 = name[..4].parse().unwrap();
        if version < 6 {
            std::fs::copy(&path, dir.join(name)).unwrap();
        }
    }
}

/// `admin` with its database replaced by `name` (as in tests/backends.rs).
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

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn strings(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The SQLSTATE a statement fails with (None when it succeeds).
async fn refused(pool: &PgPool, sql: &str) -> Option<String> {
    match sqlx::query(sql).execute(pool).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Runs `migrator` on a connection of its own, closed after, as a larkdesk process exits when its
/// upgrade fails: a failed run returns without releasing sqlx's session advisory lock, and a
/// pooled connection still holding it would block the next run for good.
async fn migrate(pool: &PgPool, migrator: &Migrator) -> Result<(), sqlx::migrate::MigrateError> {
    let mut conn = pool.acquire().await?.detach();
    let result = migrator.run_direct(&mut conn).await;
    conn.close().await?;
    result
}

struct OldTicket {
    internal_id: i64,
    ticket_id: i64,
    guest: &'static str,
    events: Vec<TicketEvent>,
}

/// Three tickets with their logs and messages, written the way larkdesk wrote them before 0006:
/// children point at tickets.id, an internal row id.
async fn old_installation(pool: &PgPool) -> Vec<OldTicket> {
    exec(
        pool,
        "INSERT INTO tenants (id, tenant_key, name, created_at) OVERRIDING SYSTEM VALUE
         VALUES (1, 'tk', 'T', 0)",
    )
    .await;
    exec(
        pool,
        &format!(
            "INSERT INTO helpdesks (id, helpdesk_id, tenant_id, name, token_hash, created_at)
             OVERRIDING SYSTEM VALUE
             VALUES (1, '{HELPDESK}', 1, 'Support', decode(repeat('00', 32), 'hex'), 0)"
        ),
    )
    .await;
    exec(
        pool,
        "INSERT INTO users (tenant_id, open_id, name)
         VALUES (1, 'ou_ann', 'Ann'), (1, 'ou_bob', 'Bob'), (1, 'ou_cy', 'Cy')",
    )
    .await;
    let tickets = vec![
        OldTicket {
            internal_id: 1,
            ticket_id: FIRST,
            guest: "ou_ann",
            events: vec![created(1_000, "ou_ann"), guest_says(2_000, "ou_ann", "om_a1")],
        },
        OldTicket {
            internal_id: 2,
            ticket_id: SECOND,
            guest: "ou_bob",
            events: vec![created(1_500, "ou_bob"), guest_says(2_500, "ou_bob", "om_b1")],
        },
        OldTicket {
            internal_id: 3,
            ticket_id: THIRD,
            guest: "ou_cy",
            events: vec![
                created(1_700, "ou_cy"),
                guest_says(2_700, "ou_cy", "om_c1"),
                guest_says(2_800, "ou_cy", "om_c2"),
            ],
        },
    ];
    for ticket in &tickets {
        exec(
            pool,
            &format!(
                "INSERT INTO tickets (id, ticket_id, helpdesk_id, guest_id, ticket_type, status, created_at,
                   updated_at, agent_ids, tags, customized_fields)
                 OVERRIDING SYSTEM VALUE
                 VALUES ({}, {}, 1, '{}', 2, 3, {}, {}, '[\"ou_agent_{}\"]',
                   '[{{\"id\": \"tag_{}\", \"name\": \"vip\"}}]', '[]')",
                ticket.internal_id,
                ticket.ticket_id,
                ticket.guest,
                ticket.events[0].at_ms,
                ticket.events.last().unwrap().at_ms,
                ticket.internal_id,
                ticket.internal_id,
            ),
        )
        .await;
    }
    // Event rows interleaved across the tickets, as concurrent traffic would leave them, THIRD's
    // first: rewritten in this order, its rows take FIRST's old key while FIRST's rows still hold it.
    let longest = tickets.iter().map(|t| t.events.len()).max().unwrap();
    for seq in 1..=longest {
        for ticket in tickets.iter().rev() {
            let Some(event) = ticket.events.get(seq - 1) else {
                continue;
            };
            sqlx::query("INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES ($1, $2, $3, $4)")
                .bind(ticket.internal_id)
                .bind(seq as i64)
                .bind(event.at_ms)
                .bind(serde_json::to_string(event).unwrap())
                .execute(pool)
                .await
                .unwrap();
        }
    }
    for ticket in tickets.iter().rev() {
        for (position, event) in ticket.events.iter().skip(1).enumerate() {
            let EventKind::Message {
                message_id, content, ..
            } = &event.kind
            else {
                unreachable!()
            };
            sqlx::query(
                "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type,
                   sender_id, created_at, position)
                 VALUES ($1, $2, $3, 'text', $4, 1, $5, $6, $7)",
            )
            .bind(ticket.internal_id)
            .bind(message_id)
            .bind(format!("ev_{message_id}"))
            .bind(content)
            .bind(ticket.guest)
            .bind(event.at_ms)
            .bind(position as i64)
            .execute(pool)
            .await
            .unwrap();
        }
    }
    tickets
}

/// Everything the upgrade must carry over, as text, in the new schema's terms: ticket rows
/// without `id`, and children with the public ticket id in place of the internal one.
#[derive(Debug, PartialEq)]
struct Contents {
    tickets: Vec<String>,
    events: Vec<String>,
    messages: Vec<String>,
}

async fn contents_before(pool: &PgPool) -> Contents {
    Contents {
        tickets: strings(
            pool,
            "SELECT (to_jsonb(t) - 'id')::text FROM tickets t ORDER BY ticket_id",
        )
        .await,
        events: strings(
            pool,
            "SELECT jsonb_set(to_jsonb(e), '{ticket_id}', to_jsonb(t.ticket_id))::text
             FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id ORDER BY e.id",
        )
        .await,
        messages: strings(
            pool,
            "SELECT (jsonb_set(to_jsonb(m), '{ticket_id}', to_jsonb(t.ticket_id)) - 'id')::text
             FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id ORDER BY m.message_id",
        )
        .await,
    }
}

async fn contents_after(pool: &PgPool) -> Contents {
    Contents {
        // Without the columns later migrations add (0007's log_state, 0014's render and its
        // version, 0016's updated_hour, checked in `upgrade`) nor the message ids 0015 changes
        // (checked in `messages_under_their_events`): this is about 0006.
        tickets: strings(
            pool,
            "SELECT (to_jsonb(t) - 'log_state' - 'render' - 'render_directory_version' - 'updated_hour')::text
             FROM tickets t ORDER BY ticket_id",
        )
        .await,
        events: strings(pool, "SELECT to_jsonb(e)::text FROM ticket_events e ORDER BY id").await,
        messages: strings(
            pool,
            "SELECT (to_jsonb(m) - 'id')::text FROM ticket_messages m ORDER BY message_id",
        )
        .await,
    }
}

/// Name and definition of every constraint and index on the three tables.
async fn schema(pool: &PgPool) -> Vec<String> {
    let mut lines = strings(
        pool,
        "SELECT conrelid::regclass || ' ' || conname || ': ' || pg_get_constraintdef(oid)
         FROM pg_constraint
         WHERE conrelid IN ('tickets'::regclass, 'ticket_events'::regclass, 'ticket_messages'::regclass)
         UNION ALL
         SELECT indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename IN ('tickets', 'ticket_events', 'ticket_messages')",
    )
    .await;
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_to_tickets_keyed_by_ticket_id_keeps_every_ticket_log_and_message() {
    let Ok(admin) = std::env::var(ADMIN_URL_VAR) else {
        eprintln!("{ADMIN_URL_VAR} is not set: PostgreSQL upgrade test skipped");
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
    // Run in a task so that a failure still reaches the cleanup below; so does a hang (say, a
    // migration waiting for a lock).
    let mut task = tokio::spawn(upgrade(with_database(&admin, &name)));
    let outcome = tokio::time::timeout(Duration::from_secs(120), &mut task).await;
    if outcome.is_err() {
        task.abort();
    }
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(err)) => std::panic::resume_unwind(err.into_panic()),
        Err(_) => panic!("the upgrade test did not finish within 2 minutes"),
    }
}

async fn upgrade(url: String) {
    let pool = PgPool::connect(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("migrations");
    migrations_before_0006(&before);
    let old_migrator = Migrator::new(before).await.unwrap();
    migrate(&pool, &old_migrator).await.unwrap();
    let tickets = old_installation(&pool).await;
    let old = contents_before(&pool).await;
    let old_schema = schema(&pool).await;
    assert_eq!(
        (old.tickets.len(), old.events.len(), old.messages.len()),
        (3, 7, 4)
    );

    let migrator = sqlx::migrate!("./migrations/postgres");
    interrupted_upgrade_changes_nothing(&pool, &migrator, &old, &old_schema).await;
    // A message row no event of its ticket's log has: not in the log, so 0015 deletes it (as a
    // rebuild would); the contents compared below do not hold it.
    exec(
        &pool,
        "INSERT INTO ticket_messages (ticket_id, message_id, event_id, msg_type, content, sender_type,
           sender_id, created_at, position)
         VALUES ((SELECT min(id) FROM tickets), 'om_orphan', 'ev_om_orphan', 'text', '{}', 1, 'ou_x', 0, 9)",
    )
    .await;
    migrate(&pool, &migrator).await.expect("the upgrade runs");

    assert_eq!(
        contents_after(&pool).await,
        old,
        "every row kept, children keyed by public id"
    );
    for ticket in &tickets {
        let logged: Vec<String> = sqlx::query_scalar(
            "SELECT e.event FROM ticket_events e JOIN tickets t ON t.ticket_id = e.ticket_id
             WHERE t.ticket_id = $1 ORDER BY e.seq",
        )
        .bind(ticket.ticket_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let logged: Vec<TicketEvent> = logged.iter().map(|e| serde_json::from_str(e).unwrap()).collect();
        assert_eq!(logged, ticket.events, "log of {}", ticket.ticket_id);
        let messages: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.message_id, t.guest_id FROM ticket_messages m
             JOIN tickets t ON t.ticket_id = m.ticket_id
             WHERE t.ticket_id = $1 ORDER BY m.created_at, m.id",
        )
        .bind(ticket.ticket_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let want: Vec<(String, String)> = ticket.events[1..]
            .iter()
            .map(|e| {
                let EventKind::Message { message_id, .. } = &e.kind else {
                    unreachable!()
                };
                (message_id.clone(), ticket.guest.to_owned())
            })
            .collect();
        assert_eq!(messages, want, "messages of {}", ticket.ticket_id);
    }
    let orphans: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ticket_events e
                 WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = e.ticket_id))
              + (SELECT count(*) FROM ticket_messages m
                 WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = m.ticket_id))",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    let agent: Vec<i64> =
        sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE agent_ids @> '[\"ou_agent_3\"]'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(agent, [THIRD], "JSONB columns carried over");
    let hours: Vec<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT updated_at, updated_hour FROM tickets ORDER BY ticket_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(hours.len(), 3);
    for (at, hour) in hours {
        assert!(at.is_some(), "every old ticket here was updated");
        assert_eq!(
            hour,
            at.map(|at| at.div_euclid(3_600_000)),
            "0016: the hour of the update"
        );
    }

    migrate(&pool, &migrator)
        .await
        .expect("a second run has nothing to do");
    assert_eq!(contents_after(&pool).await, old);

    check_schema(&pool, &old_schema).await;
    check_constraints(&pool).await;
    messages_under_their_events(&pool).await;
    pool.close().await;
}

/// After 0015 each message row has the row id of its ticket's message event.
async fn messages_under_their_events(pool: &PgPool) {
    let (messages, matched): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ticket_messages),
                (SELECT count(*) FROM ticket_messages m JOIN ticket_events e
                   ON e.id = m.id AND e.ticket_id = m.ticket_id
                  AND e.event::jsonb ->> 'message_id' = m.message_id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((messages, matched), (4, 4));
}

/// The upgrade runs in one transaction: failing it at its second UPDATE, after the event log was
/// rewritten and the constraints dropped, leaves the old database exactly as it was.
async fn interrupted_upgrade_changes_nothing(
    pool: &PgPool,
    migrator: &Migrator,
    old: &Contents,
    old_schema: &[String],
) {
    assert!(
        migrator.iter().any(|m| m.version == 6 && !m.no_tx),
        "0006 runs in a transaction"
    );
    exec(
        pool,
        "CREATE FUNCTION interrupt() RETURNS trigger LANGUAGE plpgsql
         AS $$ BEGIN RAISE EXCEPTION 'upgrade interrupted'; END $$",
    )
    .await;
    exec(
        pool,
        "CREATE TRIGGER interrupt BEFORE UPDATE ON ticket_messages
         FOR EACH ROW EXECUTE FUNCTION interrupt()",
    )
    .await;
    let err = migrate(pool, migrator)
        .await
        .expect_err("the trigger interrupts 0006");
    assert!(err.to_string().contains("upgrade interrupted"), "{err}");
    exec(pool, "DROP TRIGGER interrupt ON ticket_messages").await;
    exec(pool, "DROP FUNCTION interrupt()").await;

    assert_eq!(&contents_before(pool).await, old);
    assert_eq!(schema(pool).await, old_schema);
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(applied, [1, 2, 3, 4, 5]);
}

/// `tickets` is keyed by ticket_id, has no `id` any more, and every other constraint and index
/// is as before, under the same name (but for what later migrations change: 0007 and 0014 add
/// columns, 0013 drops the unique constraint on message event ids, 0015 the messages' index and
/// keys them by their events' row ids, 0016 adds `updated_hour` and indexes it instead of
/// `updated_at`).
async fn check_schema(pool: &PgPool, old_schema: &[String]) {
    let columns: Vec<String> = strings(
        pool,
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = 'tickets'
           AND column_name NOT IN ('log_state', 'render', 'render_directory_version', 'updated_hour')
         ORDER BY ordinal_position",
    )
    .await;
    assert!(!columns.iter().any(|c| c == "id"), "{columns:?}");
    assert_eq!(columns.len(), 28, "every other column stays: {columns:?}");
    let key = strings(
        pool,
        "SELECT a.attname::text FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = 'tickets'::regclass AND i.indisprimary",
    )
    .await;
    assert_eq!(key, ["ticket_id"]);
    let sequences = strings(
        pool,
        "SELECT relname::text FROM pg_class WHERE relname = 'tickets_id_seq'",
    )
    .await;
    assert!(sequences.is_empty(), "the identity sequence went with the column");

    let want: Vec<String> = {
        let mut want: Vec<String> = old_schema
            .iter()
            .filter(|line| !line.contains("tickets_ticket_id_key"))
            // Dropped by 0013 and 0015, later than the upgrade this test is about.
            .filter(|line| !line.contains("ticket_messages_event_id_key"))
            .filter(|line| !line.contains("ticket_messages_by_ticket"))
            .map(|line| match line.as_str() {
                // Replaced by 0016.
                "CREATE INDEX tickets_by_helpdesk_updated ON public.tickets USING btree (helpdesk_id, updated_at)" => {
                    "CREATE INDEX tickets_by_helpdesk_update_hour ON public.tickets USING btree (helpdesk_id, updated_hour)"
                        .to_owned()
                }
                "tickets tickets_pkey: PRIMARY KEY (id)" => {
                    "tickets tickets_pkey: PRIMARY KEY (ticket_id)".to_owned()
                }
                "CREATE UNIQUE INDEX tickets_pkey ON public.tickets USING btree (id)" => {
                    "CREATE UNIQUE INDEX tickets_pkey ON public.tickets USING btree (ticket_id)".to_owned()
                }
                _ => line.replace("REFERENCES tickets(id)", "REFERENCES tickets(ticket_id)"),
            })
            .collect();
        want.push(
            "ticket_messages ticket_messages_id_fkey: FOREIGN KEY (id) REFERENCES ticket_events(id)"
                .to_owned(),
        );
        want.sort();
        want
    };
    assert_eq!(schema(pool).await, want);
    for index in INDEXES {
        let valid: Option<bool> = sqlx::query_scalar(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1",
        )
        .bind(index)
        .fetch_optional(pool)
        .await
        .unwrap();
        assert_eq!(valid, Some(true), "{index}");
    }
}

/// The foreign keys name the public id, and UNIQUE (ticket_id, seq) is back.
async fn check_constraints(pool: &PgPool) {
    const FOREIGN_KEY_VIOLATION: &str = "23503";
    const UNIQUE_VIOLATION: &str = "23505";
    // Internal ids 3 and 2 were THIRD's and SECOND's; no ticket has them as its public id.
    assert_eq!(
        refused(
            pool,
            "INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES (3, 9, 0, '{}')"
        )
        .await
        .as_deref(),
        Some(FOREIGN_KEY_VIOLATION),
        "an event for no ticket"
    );
    assert_eq!(
        refused(
            pool,
            // Under an event that has no message (0015 keys messages by their events' ids).
            "INSERT INTO ticket_messages (id, ticket_id, message_id, event_id, msg_type, content, sender_type,
               sender_id, created_at, position)
             VALUES ((SELECT min(id) FROM ticket_events), 2, 'om_x', 'ev_om_x', 'text', '{}', 1, 'ou_x', 0, 0)"
        )
        .await
        .as_deref(),
        Some(FOREIGN_KEY_VIOLATION),
        "a message for no ticket"
    );
    assert_eq!(
        refused(
            pool,
            &format!(
                "INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES ({FIRST}, 2, 0, '{{}}')"
            )
        )
        .await
        .as_deref(),
        Some(UNIQUE_VIOLATION),
        "a second event at the same seq"
    );
    assert_eq!(
        refused(
            pool,
            &format!(
                "INSERT INTO ticket_events (ticket_id, seq, at_ms, event) VALUES ({FIRST}, 3, 0, '{{}}')"
            )
        )
        .await,
        None,
        "the next event of a ticket, by its public id"
    );
    assert_eq!(
        refused(pool, &format!("DELETE FROM tickets WHERE ticket_id = {THIRD}"))
            .await
            .as_deref(),
        Some(FOREIGN_KEY_VIOLATION),
        "a ticket with a log cannot go"
    );
}
