//! `larkdesk`: the server binary. `larkdesk serve` runs the API; `larkdesk admin …` does what
//! Feishu's console does, directly against the database.

mod admin_cli;
mod generate;
mod serve;

use anyhow::Context;
use clap::{Parser, Subcommand};

// A request allocates and frees many small objects across threads; mimalloc does that with a
// fraction of glibc malloc's instructions (see bench/results/BENCHMARKS-history-to-2026-12-04.md).
// Built with its `override` feature (the workspace's Cargo.toml), it is also `malloc` for the C
// code linked in, SQLite above all: a message post's change is journaled for its savepoint in
// 1 KiB pieces, ~30 allocations that glibc served at ~500 instructions each (a message post:
// 306k -> 292k instructions, bench/results/post-instructions-2026-12-07-mimalloc-override.md).
// It keeps more memory resident: after 10 s of posts and 10 s of random GETs at a million
// tickets, 99 MB of anonymous memory against glibc's 66 MB (the mapped database file: 4.2 GB).
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

    /// Log lines as human-readable text or as one JSON object per line. Colours only when
    /// stderr is a terminal. The level comes from LARKDESK_LOG (an EnvFilter, default info).
    #[arg(
        long,
        env = "LARKDESK_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    log_format: LogFormat,
    /// Open an existing SQLite database file (or its -wal/-shm) that other users can access.
    /// Without it larkdesk refuses such a file: it holds the token signing key. New files are
    /// always created 0600.
    #[arg(long, env = "LARKDESK_ALLOW_SHARED_DB_FILE", global = true)]
    allow_shared_db_file: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
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
    /// Print a shell completion script, e.g. `larkdesk completions bash > /etc/bash_completion.d/larkdesk`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LARKDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "larkdesk", &mut std::io::stdout());
        return Ok(());
    }
    // The journal lives in a running server's memory: no database needed.
    if let Command::Admin {
        command: admin_cli::AdminCommand::Journal(args),
    } = &cli.command
    {
        return admin_cli::journal(args).await;
    }
    let workload = match &cli.command {
        Command::Admin {
            command: admin_cli::AdminCommand::GenerateTickets { .. },
        } => larkdesk_store::Workload::BulkLoad,
        _ => larkdesk_store::Workload::Serving,
    };
    let cannot_open = || format!("cannot open the database {}", redact_url(&cli.database_url));
    larkdesk_store::secure_sqlite_file(&cli.database_url, cli.allow_shared_db_file)
        .with_context(cannot_open)?;
    let store = larkdesk_store::connect_for(&cli.database_url, cli.max_connections, workload)
        .await
        .with_context(cannot_open)?;
    match cli.command {
        Command::Serve(args) => serve::run(store, args).await,
        Command::Admin { command } => admin_cli::run(store, command).await,
        // Printed above, before the database is opened.
        Command::Completions { .. } => Ok(()),
    }
}

/// A database URL fit for a log line: its password (if any) replaced by `***`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_urls_lose_their_password() {
        for (url, shown) in [
            ("postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite://larkdesk.db", "sqlite://larkdesk.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
    }
}
