//! FAQ search gives the same ranking on every backend: one corpus (Chinese, English, mixed),
//! one list of queries (terms shorter than a trigram, longer ones, base case and case-folding),
//! through `larkdesk_service::faqs` on SQLite and, when `LARKDESK_TEST_POSTGRES_URL` names an
//! admin URL, on a fresh PostgreSQL database; the rankings must be equal, and the expected FAQ
//! first.

use std::sync::Arc;

use larkdesk_domain::credentials::SecretHash;
use larkdesk_domain::ids;
use larkdesk_service::faqs::{FaqInput, Faqs};
use larkdesk_service::{Caller, Clock};
use larkdesk_store::{AppType, NewApp, NewHelpdesk};
use sqlx::Connection;

const CORPUS: &[(&str, &str, &[&str])] = &[
    ("如何重置登录密码", "在设置页面点击重置", &["忘记密码"]),
    (
        "How do I reset my password?",
        "Open Settings and click Reset.",
        &["login"],
    ),
    ("VPN 连接失败怎么办", "重新安装 VPN 客户端", &["网络"]),
    ("Printer setup", "Ask IT to reset the printer queue", &[]),
    ("报销流程", "每月 5 日前提交报销单", &["发票"]),
    (
        "Expense reports",
        "Submit them before the 5th of each month",
        &["invoice", "报销"],
    ),
    ("邮箱容量不足", "清理附件或申请扩容", &["email"]),
    (
        "Email quota exceeded",
        "Delete attachments or ask for more space",
        &["mailbox"],
    ),
];

/// (query, the question expected first; `None`: nothing found).
const QUERIES: &[(&str, Option<&str>)] = &[
    ("重置密码", Some("如何重置登录密码")),
    ("密码", Some("如何重置登录密码")),
    ("reset password", Some("How do I reset my password?")),
    ("RESET", Some("How do I reset my password?")),
    ("vpn", Some("VPN 连接失败怎么办")),
    ("连接", Some("VPN 连接失败怎么办")),
    ("报销", Some("报销流程")),
    ("invoice", Some("Expense reports")),
    ("email", Some("Email quota exceeded")),
    ("邮箱满了", Some("邮箱容量不足")),
    ("printer queue", Some("Printer setup")),
    ("5", Some("Expense reports")),
    ("xyzzy", None),
    ("的", None),
];

async fn rankings(url: &str) -> Vec<Vec<String>> {
    let store = larkdesk_store::connect(url, 4).await.expect("store");
    let tenant = store.create_tenant("00000000000000ab", "Acme").await.unwrap();
    let app = store
        .create_app(NewApp {
            app_id: "cli_00000000000000ab".into(),
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
            helpdesk_id: "7000000000000000001".into(),
            tenant_id: tenant.id,
            name: "hd".into(),
            token_hash: SecretHash::of("t"),
        })
        .await
        .unwrap();
    let caller = Caller {
        app: Arc::new(app),
        helpdesk: Arc::new(helpdesk),
        user: None,
    };
    // A frozen clock: every FAQ has the same update time, so ties fall to the id (creation order).
    let faqs = Faqs::new(store.clone(), Clock::controllable());
    for (question, answer, tags) in CORPUS {
        faqs.create(
            &caller,
            FaqInput {
                question: Some((*question).into()),
                answer: Some((*answer).into()),
                tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
                ..FaqInput::default()
            },
        )
        .await
        .unwrap();
    }
    let mut out = Vec::new();
    for (query, _) in QUERIES {
        let page = faqs.search(&caller, query, 0, 100).await.unwrap();
        out.push(page.items.into_iter().map(|f| f.question).collect());
        // GET /faqs?search= (every term) on the same text.
        let listed = faqs.list(&caller, None, 1, Some(query), 0, 100).await.unwrap();
        out.push(
            listed
                .items
                .into_iter()
                .map(|f| format!("list: {}", f.question))
                .collect(),
        );
    }
    out
}

#[tokio::test]
async fn the_same_rankings_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = rankings(&format!("sqlite://{}", dir.path().join("faqs.db").display())).await;
    for (i, (query, first)) in QUERIES.iter().enumerate() {
        let got = &sqlite[2 * i];
        assert_eq!(got.first().map(String::as_str), *first, "{query:?}: {got:?}");
    }

    let Ok(admin) = std::env::var("LARKDESK_TEST_POSTGRES_URL") else {
        eprintln!("LARKDESK_TEST_POSTGRES_URL is not set: PostgreSQL comparison skipped");
        return;
    };
    let name = format!("larkdesk_faqs_{}", ids::new_tenant_key());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let outcome = tokio::spawn({
        let url = format!("{base}/{name}");
        async move { rankings(&url).await }
    })
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    let postgres = outcome.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_eq!(sqlite, postgres, "SQLite and PostgreSQL rank differently");
}
