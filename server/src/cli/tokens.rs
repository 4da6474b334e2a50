//! `soundlake tokens ...`: API tokens for scripts and players.

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::accounts::tokens::{self, Scope};
use crate::infra::config::Config;
use crate::infra::database::Database;

/// API tokens (Authorization: Bearer <token>).
#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(subcommand)]
    what: TokensCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for account NAME and print it once. `--scope ingest` (admins only) makes
    /// a token that may only post listens, for any listener.
    Create {
        name: String,
        /// What the token is for, shown in listings.
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long, default_value = "account", value_parser = parse_scope)]
        scope: Scope,
    },
    /// Account NAME's tokens.
    List { name: String },
    /// Revoke one of account NAME's tokens by its id.
    Revoke { name: String, token_id: i64 },
}

fn parse_scope(name: &str) -> Result<Scope, String> {
    Scope::parse(name).ok_or_else(|| format!("no scope `{name}`: account or ingest"))
}

pub async fn run(config: &Config, args: TokensArgs) -> Result<()> {
    let database = Database::open(config).await?;
    let result = execute(&database.pool, args.what).await;
    database.close().await;
    result
}

async fn execute(pool: &sqlx::PgPool, command: TokensCommand) -> Result<()> {
    match command {
        TokensCommand::Create { name, label, scope } => {
            let account = super::users::existing(pool, &name).await?;
            let (_, secret) = tokens::create(pool, &account, &label, scope).await?;
            eprintln!("Token for {name} ({} scope), shown once:", scope.as_str());
            println!("{secret}");
        }
        TokensCommand::List { name } => {
            let account = super::users::existing(pool, &name).await?;
            println!(
                "{:>6} {:<24} {:<8} {:<25} status",
                "id", "label", "scope", "last used"
            );
            for t in tokens::list(pool, &account).await? {
                println!(
                    "{:>6} {:<24} {:<8} {:<25} {}",
                    t.token_id,
                    t.name,
                    t.scope.as_str(),
                    t.last_used_at.map_or("never".to_owned(), |d| d
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string()),
                    if t.revoked { "revoked" } else { "live" }
                );
            }
        }
        TokensCommand::Revoke { name, token_id } => {
            let account = super::users::existing(pool, &name).await?;
            if tokens::revoke(pool, &account, token_id).await? {
                println!("Token {token_id} of {name} revoked.");
            } else {
                anyhow::bail!("{name} has no live token {token_id}");
            }
        }
    }
    Ok(())
}
