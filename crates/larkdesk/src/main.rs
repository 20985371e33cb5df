//! `larkdesk`: the server binary. `larkdesk serve` runs the API; `larkdesk admin …` does what
//! Feishu's console does, directly against the database.

mod admin_cli;
mod generate;
mod serve;

use clap::{Parser, Subcommand};

// A request allocates and frees many small objects across threads; mimalloc does that with a
// fraction of glibc malloc's instructions (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "larkdesk",
    version,
    about = "Self-hosted, wire-compatible Feishu Helpdesk v1 API server"
)]
struct Cli {
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER@HOST[:PORT]/DATABASE.
    #[arg(
        long,
        env = "LARKDESK_DATABASE_URL",
        default_value = "sqlite://larkdesk.db",
        global = true
    )]
    database_url: String,

    /// Maximum database connections in the pool.
    #[arg(long, env = "LARKDESK_MAX_CONNECTIONS", default_value_t = 8, global = true)]
    max_connections: u32,

    /// Open an existing SQLite database file (or its -wal/-shm) that other users can access.
    /// Without it larkdesk refuses such a file: it holds the token signing key. New files are
    /// always created 0600.
    #[arg(long, env = "LARKDESK_ALLOW_SHARED_DB_FILE", global = true)]
    allow_shared_db_file: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Manage tenants, apps, helpdesks, users and secrets (prints JSON).
    Admin {
        #[command(subcommand)]
        command: admin_cli::AdminCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LARKDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let workload = match &cli.command {
        Command::Admin {
            command: admin_cli::AdminCommand::GenerateTickets { .. },
        } => larkdesk_store::Workload::BulkLoad,
        _ => larkdesk_store::Workload::Serving,
    };
    larkdesk_store::secure_sqlite_file(&cli.database_url, cli.allow_shared_db_file)?;
    let store = larkdesk_store::connect_for(&cli.database_url, cli.max_connections, workload).await?;
    match cli.command {
        Command::Serve(args) => serve::run(store, args).await,
        Command::Admin { command } => admin_cli::run(store, command).await,
    }
}
