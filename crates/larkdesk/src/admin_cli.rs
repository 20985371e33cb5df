//! `larkdesk admin …`: the console operations of [`larkdesk_api::console`] on the command line.
//! Each command prints one JSON object.

use clap::Subcommand;
use std::sync::Arc;

use larkdesk_service::{Clock, Services, console, delivery};
use larkdesk_store::AppType;
use larkdesk_store::prelude::*;
use larkdesk_wire::ticket::{Ticket, TicketUser};
use serde_json::json;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a tenant.
    CreateTenant {
        #[arg(long)]
        name: String,
        /// Defaults to 16 random hex digits.
        #[arg(long)]
        tenant_key: Option<String>,
    },
    /// Create an app; prints its app_id and app_secret.
    CreateApp {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        name: String,
        /// custom (self-built) or store.
        #[arg(long = "type", default_value = "custom", value_parser = parse_app_type)]
        app_type: AppType,
        /// Comma-separated scopes; defaults to helpdesk:all, helpdesk:all:readonly, helpdesk:helpdesk:access.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
    /// Replace an app's scopes.
    SetAppScopes {
        #[arg(long)]
        app_id: String,
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// Give an app a new secret (issued tokens stay valid until they expire).
    RotateAppSecret {
        #[arg(long)]
        app_id: String,
    },
    /// Create a helpdesk; prints its helpdesk_id and helpdesk_token.
    CreateHelpdesk {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        name: String,
        /// A digit string; generated when omitted.
        #[arg(long)]
        helpdesk_id: Option<String>,
    },
    /// Give a helpdesk a new token.
    RotateHelpdeskToken {
        #[arg(long)]
        helpdesk_id: String,
    },
    /// Create or update a user (agent with --agent).
    UpsertUser {
        #[arg(long)]
        tenant_key: String,
        /// open_id; generated when omitted.
        #[arg(long, default_value = "")]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long)]
        agent: bool,
    },
    /// Import a ticket given as ticket_v2 JSON (a file, or - for stdin).
    ImportTicket {
        #[arg(long)]
        helpdesk_id: String,
        #[arg(long)]
        file: String,
    },
    /// Replace the admin API token.
    RotateAdminToken,
    /// List tenants (keys and names).
    ListTenants,
    /// List apps (ids, tenants, names, scopes; never secrets).
    ListApps,
    /// List helpdesks (ids, tenants, names; never tokens).
    ListHelpdesks,
    /// List directory users, of one tenant or of all.
    ListUsers {
        #[arg(long)]
        tenant_key: Option<String>,
    },
    /// List the newest tickets of every helpdesk (ids, status, times).
    ListTickets {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Show the requests a running server journaled (newest first, secrets redacted), or with
    /// --clear forget them. Asks the server's admin API: the journal lives in its memory.
    Journal(JournalArgs),
    /// Delete every tenant and everything under it, then create the demo installation again and
    /// print its new credentials (the admin token stays). A running server forgets its cached
    /// credentials within a second; `POST /larkdesk/admin/v1/reset` does the same at once.
    ResetDemo,
    /// Write the whole installation but its secrets to FILE as one JSON document (`-`: stdout),
    /// the document `GET /larkdesk/admin/v1/snapshot` returns.
    Snapshot { file: std::path::PathBuf },
    /// Replace the installation with the snapshot in FILE (`-`: stdin), in one transaction (the
    /// admin token stays). A running server forgets its cached credentials within a second;
    /// `POST /larkdesk/admin/v1/restore` does the same at once.
    Restore { file: std::path::PathBuf },
    /// Set where an app receives events (the URL must answer Feishu's url_verification challenge).
    SetAppEvents {
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        request_url: String,
        /// Generated when omitted.
        #[arg(long)]
        verification_token: Option<String>,
        /// Encrypt events with this key (AES-256-CBC, as Feishu).
        #[arg(long)]
        encrypt_key: Option<String>,
        /// Allow a loopback or private address (the server must run with it too to deliver).
        #[arg(long, env = "LARKDESK_EVENT_ALLOW_PRIVATE")]
        event_allow_private: bool,
    },
    /// Recent event deliveries and their status, newest first.
    ListDeliveries {
        #[arg(long)]
        app_id: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Load realistic generated tickets into a helpdesk (benchmarks, demos). Loads fast by not
    /// flushing commits to disk: a machine crash mid-load can lose or corrupt the database.
    GenerateTickets {
        #[arg(long)]
        helpdesk_id: String,
        #[arg(long)]
        count: u64,
        /// Seed of the generator (histories are reproducible; ticket ids are not).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// When stderr is not a terminal (no progress bar), print a progress line to it
        /// after every this many tickets, with the rate since the previous line: long loads
        /// leave a record of how the rate changes as the database grows.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        progress_every: u64,
        /// How many batches of 1000 tickets to write at once. Defaults to one on SQLite (one
        /// writer) and to the number of CPUs on PostgreSQL.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
        jobs: Option<u64>,
        /// Ticket ids in creation order and the open tickets among the latest, as in a helpdesk
        /// (by default creation times and statuses are drawn independently of the ids, so the
        /// open tickets are spread over the whole id range).
        #[arg(long)]
        open_latest: bool,
    },
    /// Recompute every ticket projection from the event log; prints how many differed.
    RebuildProjections,
    /// The approver's decision on a submitted push job (approve, or reject with --reject);
    /// pushes helpdesk.notification.approve_v1.
    DecideNotification {
        #[arg(long)]
        helpdesk_id: String,
        #[arg(long)]
        notification_id: String,
        #[arg(long)]
        reject: bool,
    },
}

#[derive(clap::Args)]
pub struct JournalArgs {
    /// The running server's base URL.
    #[arg(long, env = "LARKDESK_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The server's admin token.
    #[arg(long, env = "LARKDESK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Only this app's requests (empty: requests of no app).
    #[arg(long)]
    app_id: Option<String>,
    /// Only the request whose response carried this X-Tt-Logid.
    #[arg(long)]
    log_id: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Forget the journaled requests (of --app-id, or all) instead of showing them.
    #[arg(long)]
    clear: bool,
}

/// `larkdesk admin journal`: the admin API's `/journal`, printed as JSON.
pub async fn journal(args: &JournalArgs) -> anyhow::Result<()> {
    let url = format!("{}/larkdesk/admin/v1/journal", args.server.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(app_id) = &args.app_id {
        query.push(("app_id", app_id.clone()));
    }
    let request = if args.clear {
        client.delete(&url)
    } else {
        if let Some(log_id) = &args.log_id {
            query.push(("log_id", log_id.clone()));
        }
        query.push(("limit", args.limit.to_string()));
        client.get(&url)
    };
    let response = request
        .query(&query)
        .bearer_auth(&args.admin_token)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the server at {}: {e}", args.server))?;
    let body: serde_json::Value = response.json().await?;
    if body["code"] != json!(0) {
        anyhow::bail!("the server refused: {body}");
    }
    println!("{}", serde_json::to_string_pretty(&body["data"])?);
    Ok(())
}

fn parse_app_type(s: &str) -> Result<AppType, String> {
    AppType::parse(s).ok_or_else(|| "expected custom or store".to_owned())
}

pub async fn run(store: Arc<dyn Store>, command: AdminCommand) -> anyhow::Result<()> {
    let services = Services::new(store.clone(), Clock::system());
    let store = &*store;
    let out = match command {
        AdminCommand::CreateTenant { name, tenant_key } => {
            serde_json::to_value(console::create_tenant(store, &name, tenant_key.as_deref()).await?)?
        }
        AdminCommand::CreateApp {
            tenant_key,
            name,
            app_type,
            scopes,
        } => serde_json::to_value(console::create_app(store, &tenant_key, &name, app_type, scopes).await?)?,
        AdminCommand::SetAppScopes { app_id, scopes } => {
            store.set_app_scopes(&app_id, &scopes).await?;
            json!({ "app_id": app_id, "scopes": scopes })
        }
        AdminCommand::RotateAppSecret { app_id } => {
            json!({ "app_id": app_id, "app_secret": console::rotate_app_secret(store, &app_id).await? })
        }
        AdminCommand::CreateHelpdesk {
            tenant_key,
            name,
            helpdesk_id,
        } => serde_json::to_value(
            console::create_helpdesk(store, &tenant_key, &name, helpdesk_id.as_deref()).await?,
        )?,
        AdminCommand::RotateHelpdeskToken { helpdesk_id } => json!({
            "helpdesk_id": helpdesk_id,
            "helpdesk_token": console::rotate_helpdesk_token(store, &helpdesk_id).await?,
        }),
        AdminCommand::UpsertUser {
            tenant_key,
            id,
            name,
            email,
            agent,
        } => {
            let user = TicketUser {
                id,
                name,
                email,
                ..Default::default()
            };
            serde_json::to_value(console::upsert_user(store, &tenant_key, user, agent).await?)?
        }
        AdminCommand::ImportTicket { helpdesk_id, file } => {
            let raw = if file == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)?
            };
            let ticket: Ticket = serde_json::from_str(&raw)?;
            json!({ "ticket_id": console::import_ticket(store, &helpdesk_id, ticket).await?.ticket_id })
        }
        AdminCommand::RotateAdminToken => json!({ "admin_token": console::rotate_admin_token(store).await? }),
        AdminCommand::ListTenants => json!({ "tenants": console::list_tenants(store).await? }),
        AdminCommand::ListApps => json!({ "apps": console::list_apps(store).await? }),
        AdminCommand::ListHelpdesks => json!({ "helpdesks": console::list_helpdesks(store).await? }),
        AdminCommand::ListUsers { tenant_key } => {
            json!({ "users": console::list_users(store, tenant_key.as_deref()).await? })
        }
        AdminCommand::ListTickets { limit } => {
            json!({ "tickets": console::list_tickets(store, limit).await? })
        }
        AdminCommand::Journal(args) => {
            journal(&args).await?;
            return Ok(());
        }
        AdminCommand::Snapshot { file } => {
            let document = console::snapshot(store).await?;
            let text = serde_json::to_string(&document)?;
            let tables = document["tables"].as_object().map_or(0, serde_json::Map::len);
            if file.as_os_str() == "-" {
                println!("{text}");
                return Ok(());
            }
            std::fs::write(&file, text)
                .map_err(|e| anyhow::anyhow!("cannot write the snapshot to {}: {e}", file.display()))?;
            json!({ "snapshot": file.display().to_string(), "tables": tables })
        }
        AdminCommand::Restore { file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("cannot read the snapshot {}: {e}", file.display()))?
            };
            let document: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
            console::restore(store, &document).await?;
            json!({ "restored": file.display().to_string() })
        }
        AdminCommand::ResetDemo => {
            let demo = console::reset(store, true, Clock::system().now_ms()).await?;
            json!({ "demo": demo })
        }
        AdminCommand::SetAppEvents {
            app_id,
            request_url,
            verification_token,
            encrypt_key,
            event_allow_private,
        } => {
            let app = store.app_by_app_id(&app_id).await?;
            delivery::check_target(&request_url, event_allow_private).map_err(|why| anyhow::anyhow!(why))?;
            let settings = larkdesk_store::EventSettings {
                request_url,
                verification_token: verification_token
                    .unwrap_or_else(larkdesk_domain::credentials::new_app_secret),
                encrypt_key,
            };
            let config = delivery::DeliveryConfig {
                allow_private: event_allow_private,
                ..Default::default()
            };
            let client = delivery::http_client(&config);
            delivery::verify_url(&client, &settings, event_allow_private)
                .await
                .map_err(|why| anyhow::anyhow!("URL verification failed: {why}"))?;
            store.set_event_settings(app.id, Some(&settings)).await?;
            json!({
                "app_id": app_id,
                "request_url": settings.request_url,
                "verification_token": settings.verification_token,
                "encrypt_key": settings.encrypt_key,
            })
        }
        AdminCommand::ListDeliveries { app_id, limit } => {
            json!({ "deliveries": store.deliveries(app_id.as_deref(), limit).await? })
        }
        AdminCommand::GenerateTickets {
            helpdesk_id,
            count,
            seed,
            progress_every,
            jobs,
            open_latest,
        } => {
            let load = crate::generate::Load {
                count,
                seed,
                progress_every,
                jobs: jobs.map(|n| n as usize),
                open_latest,
            };
            crate::generate::run(&services.tickets, store, &helpdesk_id, load).await?
        }
        AdminCommand::RebuildProjections => serde_json::to_value(services.tickets.rebuild().await?)?,
        AdminCommand::DecideNotification {
            helpdesk_id,
            notification_id,
            reject,
        } => {
            let id = larkdesk_domain::ids::NotificationId::parse(&notification_id)
                .ok_or_else(|| anyhow::anyhow!("notification_id must be a numeric string"))?;
            let helpdesk = store.helpdesk_by_public_id(&helpdesk_id).await?;
            let status = services.notifications.decide(&helpdesk, id, !reject).await?;
            json!({ "notification_id": notification_id, "status": status.code() })
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
