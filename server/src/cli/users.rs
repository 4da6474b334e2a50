//! `soundlake users ...`: accounts for real deployments.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::accounts::store::{self, NewAccount};
use crate::accounts::{Role, secret};
use crate::infra::config::Config;
use crate::infra::database::Database;

/// Accounts: one role each (listener, business, admin).
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    what: UsersCommand,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account. The password is read from SOUNDLAKE_PASSWORD, else generated and
    /// printed once.
    Add {
        name: String,
        /// listener, business or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For a listener: the user id their listens carry.
        #[arg(long)]
        listener: Option<String>,
    },
    /// Every account with its role.
    List,
    /// Set an account's password (SOUNDLAKE_PASSWORD, else generated and printed once); its
    /// sessions end.
    SetPassword { name: String },
    /// Change an account's role: its sessions end and its account tokens are revoked.
    /// Refused for the last enabled admin.
    SetRole {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        listener: Option<String>,
    },
    /// Disable an account: its sessions end and its tokens stop working. Refused for the last
    /// enabled admin.
    Disable { name: String },
    /// Enable a disabled account.
    Enable { name: String },
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| format!("no role `{name}`: listener, business or admin"))
}

/// The password to set: `SOUNDLAKE_PASSWORD`, else a new one (and whether it was generated).
fn password() -> (String, bool) {
    match std::env::var("SOUNDLAKE_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (secret::new_password(), true),
    }
}

pub async fn run(config: &Config, args: UsersArgs) -> Result<()> {
    let database = Database::open(config).await?;
    let result = execute(&database.pool, args.what).await;
    database.close().await;
    result
}

async fn execute(pool: &sqlx::PgPool, command: UsersCommand) -> Result<()> {
    match command {
        UsersCommand::Add {
            name,
            role,
            listener,
        } => {
            let (password, generated) = password();
            let account = store::create(
                pool,
                &NewAccount {
                    name: &name,
                    role,
                    listener_id: listener.as_deref(),
                    password: &password,
                },
            )
            .await?;
            println!("Created {} ({}).", account.name, account.role);
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        UsersCommand::List => {
            let accounts = store::list(pool).await?;
            if accounts.is_empty() {
                println!("No accounts.");
            }
            println!("{:<24} {:<9} {:<20} status", "name", "role", "listener");
            for a in accounts {
                println!(
                    "{:<24} {:<9} {:<20} {}",
                    a.name,
                    a.role,
                    a.listener_id.as_deref().unwrap_or("-"),
                    if a.disabled { "disabled" } else { "active" }
                );
            }
        }
        UsersCommand::SetPassword { name } => {
            let (password, generated) = password();
            store::set_password(pool, &name, &password).await?;
            println!("Password of {name} set; its sessions ended.");
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        UsersCommand::SetRole {
            name,
            role,
            listener,
        } => {
            let account = store::set_role(pool, &name, role, listener.as_deref()).await?;
            println!("{} is now a {}.", account.name, account.role);
        }
        UsersCommand::Disable { name } => {
            store::set_disabled(pool, &name, true).await?;
            println!("{name} is disabled.");
        }
        UsersCommand::Enable { name } => {
            store::set_disabled(pool, &name, false).await?;
            println!("{name} is enabled.");
        }
    }
    Ok(())
}

/// Checks that `name` exists, for commands acting on an account.
pub async fn existing(pool: &sqlx::PgPool, name: &str) -> Result<crate::accounts::Account> {
    let account = store::find(pool, name)
        .await
        .with_context(|| format!("finding account {name}"))?;
    if account.disabled {
        bail!("account {name} is disabled");
    }
    Ok(account)
}
