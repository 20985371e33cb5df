//! Push jobs on every backend (SQLite always, PostgreSQL when `LARKDESK_TEST_POSTGRES_URL` names
//! an admin URL): the sent messages land with the bot's other messages and a recall takes them
//! back; concurrent decisions on one job serialize (exactly one wins); the sender finds due jobs.

use std::sync::Arc;

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::ids;
use larkdesk_domain::push::JobStatus;
use larkdesk_service::notifications::{JobInput, Notifications};
use larkdesk_service::{Caller, Clock, Error};
use larkdesk_store::{AppType, NewApp, NewHelpdesk};
use larkdesk_wire::notifications::{NotificationChat, NotificationUser};
use larkdesk_wire::ticket::TicketUser;
use sqlx::Connection;

async fn bot_messages(url: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bot_messages")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    n
}

async fn story(url: String) {
    let store = larkdesk_store::connect(&url, 4).await.expect("store");
    let tenant = store.create_tenant("00000000000000ac", "Acme").await.unwrap();
    let app = store
        .create_app(NewApp {
            app_id: "cli_00000000000000ac".into(),
            tenant_id: tenant.id,
            name: "app".into(),
            app_type: AppType::Custom,
            scopes: vec![],
            secret_hash: SecretHash::of("s"),
        })
        .await
        .unwrap();
    let helpdesk = store
        .create_helpdesk(NewHelpdesk {
            helpdesk_id: "7000000000000000002".into(),
            tenant_id: tenant.id,
            name: "hd".into(),
            token_hash: SecretHash::of("t"),
        })
        .await
        .unwrap();
    for (id, department) in [("ou_a", "IT"), ("ou_b", "IT"), ("ou_c", "HR")] {
        let user = TicketUser {
            id: id.into(),
            name: id.into(),
            department: department.into(),
            ..TicketUser::default()
        };
        store.upsert_user(tenant.id, &user, false).await.unwrap();
    }
    let caller = Caller {
        app: Arc::new(app),
        helpdesk: Arc::new(helpdesk.clone()),
        user: None,
    };
    let clock = Clock::controllable();
    let jobs = Notifications::new(store.clone(), clock.clone());
    let input = JobInput {
        job_name: Some("j".into()),
        push_content: Some("{}".into()),
        push_type: Some(0),
        push_scope_type: Some(2),
        user_list: vec![NotificationUser {
            user_id: "ou_c".into(),
            ..NotificationUser::default()
        }],
        department_list: vec![larkdesk_wire::notifications::NotificationDepartment {
            department_id: "od_x".into(),
            name: "IT".into(),
        }],
        chat_list: vec![NotificationChat {
            chat_id: "oc_1".into(),
            name: "c".into(),
        }],
        ..JobInput::default()
    };
    let (id, status) = jobs.create(&caller, input).await.unwrap();
    assert_eq!(status, 0);
    jobs.submit(&caller, id, "r".into()).await.unwrap();

    // Two approvers at once: one decision wins, the other finds the job decided.
    let (a, b) = tokio::join!(
        jobs.decide(&helpdesk, id, true),
        jobs.decide(&helpdesk, id, false)
    );
    let outcomes = [&a, &b];
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
    assert!(outcomes.iter().any(|r| matches!(r, Err(Error::Invalid(_)))));
    if a.is_err() {
        // The rejection won: submit again and approve.
        jobs.submit(&caller, id, "again".into()).await.unwrap();
        jobs.decide(&helpdesk, id, true).await.unwrap();
    }

    let before = bot_messages(&url).await;
    let due = clock.now_ms() + 5_000;
    jobs.execute_send(&caller, id, due).await.unwrap();
    assert_eq!(jobs.send_due().await.unwrap(), 0, "not due yet");
    assert_eq!(bot_messages(&url).await, before);
    clock.advance_ms(5_000);
    assert_eq!(jobs.send_due().await.unwrap(), 1);
    let (job, _) = jobs.get(&caller, id).await.unwrap();
    assert_eq!(job.status, JobStatus::Sent.code());
    // ou_c by name, ou_a and ou_b by department; and the chat.
    assert_eq!((job.target_user_count, job.sent_user_count), (3, 3));
    assert_eq!(bot_messages(&url).await, before + 4);
    assert_eq!(jobs.send_due().await.unwrap(), 0, "sent once");

    jobs.cancel_send(&caller, id, true).await.unwrap();
    assert_eq!(
        jobs.get(&caller, id).await.unwrap().0.status,
        JobStatus::Recalled.code()
    );
    assert_eq!(
        bot_messages(&url).await,
        before,
        "a recall takes the messages back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_jobs_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    story(format!("sqlite://{}", dir.path().join("jobs.db").display())).await;

    let Ok(admin) = std::env::var("LARKDESK_TEST_POSTGRES_URL") else {
        eprintln!("LARKDESK_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
        return;
    };
    let name = format!("larkdesk_jobs_{}", ids::new_tenant_key());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let outcome = tokio::spawn(story(format!("{base}/{name}"))).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
