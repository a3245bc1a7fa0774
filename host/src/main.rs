//! The `kolhost` command line: parse, then call the library.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use kolhost::config::Config;
use kolhost::domain::Role;
use kolhost::store::{self, tokens};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "kolhost",
    version,
    about = "Operations server for livestream-commerce agencies"
)]
struct Cli {
    /// A TOML configuration file (default: ./kolhost.toml if present). KOLHOST_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server (migrating the database first).
    Serve {
        /// Seeds a small demo agency into an empty database and prints demo tokens.
        #[arg(long)]
        demo: bool,
    },
    /// Brings the database schema up to date and exits.
    Migrate,
    /// Manages API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manages the key that seals secrets at rest (KOL ID numbers, plugin secrets).
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Prints the HTTP API's OpenAPI document (no database needed).
    Openapi,
    /// Works with Lua allocation strategies offline (no database needed).
    Script {
        #[command(subcommand)]
        command: ScriptCommand,
    },
}

#[derive(Subcommand)]
enum ScriptCommand {
    /// Runs a strategy on a fixture and validates its assignments. Exit status: 0 passed,
    /// 1 violations, 2 the script failed.
    Test {
        /// The Lua file defining `allocate(ctx)`.
        file: PathBuf,
        /// A JSON ctx (`products`, `kols`, `contracts`, `sessions`, `params`); default: the demo
        /// agency of scripts/fixtures/demo.json.
        #[arg(long)]
        fixture: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Prints a new random key (base64), for `rotate --new-key-file` (no database needed).
    NewKey,
    /// Re-seals every sealed value (KOL ID numbers, plugin secrets) under a new key, in one
    /// transaction. Stop every server on this database first. The current key is read as the
    /// server reads it (KOLHOST_SECRET_KEY, else the key file); when it came from the key file,
    /// that file is replaced by the new key once the re-seal has committed.
    Rotate {
        /// A file holding the new key (32 bytes as base64 or hex; `kolhost secrets new-key`).
        #[arg(long, value_name = "PATH")]
        new_key_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates a token and prints it once; only its hash is stored.
    Create {
        /// admin, manager, integrator, scripter, brand or kol.
        #[arg(long)]
        role: String,
        /// The brand a `brand` token belongs to.
        #[arg(long)]
        brand: Option<Uuid>,
        /// The KOL a `kol` token belongs to.
        #[arg(long)]
        kol: Option<Uuid>,
        /// A label shown in the audit trail.
        #[arg(long)]
        name: Option<String>,
        /// How long the token works, e.g. `30d`, `12h`, `90m` (default: until revoked).
        #[arg(long, value_name = "LIFETIME")]
        expires_in: Option<String>,
    },
    /// Lists tokens: id, role, owner, status, expiry and last use (never secrets).
    List,
    /// Revokes a token by id. On PostgreSQL every server on the database forgets it at once
    /// (the revocation is announced); a server on SQLite notices within its token cache period
    /// (30 s), while revoking through `DELETE /api/v1/tokens/{id}` takes effect at once.
    Revoke {
        /// The token's id (from `kolhost token list`).
        id: Uuid,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kolhost=info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Command::Script {
        command: ScriptCommand::Test { file, fixture },
    } = &cli.command
    {
        std::process::exit(script_test(file, fixture.as_deref())?);
    }
    if let Command::Secrets {
        command: SecretsCommand::NewKey,
    } = &cli.command
    {
        println!("{}", store::secrets::generate_key());
        return Ok(());
    }
    if let Command::Openapi = &cli.command {
        println!("{:#}", kolhost::app::openapi_document());
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref()).context("reading configuration")?;
    let db = store::connect_with(&config.database_url, config.database_sslmode)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    store::prepare(&db)
        .await
        .context("preparing the database")?;
    match cli.command {
        Command::Script { .. }
        | Command::Openapi
        | Command::Secrets {
            command: SecretsCommand::NewKey,
        } => unreachable!("handled before connecting"),
        Command::Secrets {
            command: SecretsCommand::Rotate { new_key_file },
        } => rotate_secrets(&config, &db, &new_key_file).await?,
        Command::Migrate => println!("database is up to date"),
        Command::Serve { demo } => {
            if demo {
                kolhost::demo::seed(&db, &config)
                    .await
                    .context("seeding demo data")?;
            }
            kolhost::app::serve(config, db).await?;
        }
        Command::Token {
            command: TokenCommand::List,
        } => {
            let admin = kolhost::domain::Actor::system("kolhost token list");
            let mut page = kolhost::service::PageRequest::default();
            println!("id\trole\towner\tstatus\texpires_at\tlast_used_at\tname");
            loop {
                let listed = kolhost::service::tokens::list(&db, &admin, page).await?;
                for t in &listed.items {
                    let owner = t.brand_id.or(t.kol_id).map(|u| u.to_string());
                    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                        t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.role,
                        owner.as_deref().unwrap_or("-"),
                        t.status,
                        when(t.expires_at),
                        when(t.last_used_at),
                        t.name
                    );
                }
                match listed.next_cursor.as_deref() {
                    Some(c) => page = kolhost::service::PageRequest::parse(None, Some(c))?,
                    None => break,
                }
            }
        }
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let admin = kolhost::domain::Actor::system("kolhost token revoke");
            let cache = kolhost::service::auth::TokenCache::new(std::time::Duration::ZERO);
            let t = kolhost::service::tokens::revoke(&db, &cache, &admin, id).await?;
            println!("revoked {} ({}, {})", t.id, t.role, t.name);
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    role,
                    brand,
                    kol,
                    name,
                    expires_in,
                },
        } => {
            let expires_at = expires_in
                .map(|s| {
                    kolhost::service::tokens::parse_lifetime(&s)
                        .map(|d| chrono::Utc::now() + d)
                        .with_context(|| {
                            format!("--expires-in {s:?}: a lifetime such as 30d, 12h or 90m")
                        })
                })
                .transpose()?;
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?}; one of {}", Role::names()))?;
            match role {
                Role::Brand if brand.is_none() || kol.is_some() => {
                    bail!("a brand token needs --brand ID (and no --kol)")
                }
                Role::Kol if kol.is_none() || brand.is_some() => {
                    bail!("a kol token needs --kol ID (and no --brand)")
                }
                Role::Brand | Role::Kol => {}
                _ if brand.is_some() || kol.is_some() => {
                    bail!("--brand and --kol are only for brand and kol tokens")
                }
                _ => {}
            }
            kolhost::store::tokens::check_owner(&db, role, brand, kol).await?;
            let name = name.unwrap_or_else(|| format!("{role} token"));
            let (secret, _) = tokens::create_expiring(
                &db,
                tokens::NewToken {
                    name,
                    role,
                    brand_id: brand,
                    kol_id: kol,
                },
                None,
                expires_at,
            )
            .await?;
            println!("{secret}");
        }
    }
    Ok(())
}

/// `kolhost secrets rotate`: the current key, the new one, the re-seal, then the key file.
async fn rotate_secrets(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    new_key_file: &std::path::Path,
) -> anyhow::Result<()> {
    use kolhost::store::secrets::{self, SecretBox};
    let dir = SecretBox::key_dir(&config.database_url, &config.data_dir);
    let (old_key, old_file) = secrets::existing_key(&dir).with_context(|| {
        format!(
            "reading the current key ({} or {})",
            secrets::KEY_ENV,
            dir.join(secrets::KEY_FILE).display()
        )
    })?;
    let text = std::fs::read_to_string(new_key_file)
        .with_context(|| format!("reading the new key from {}", new_key_file.display()))?;
    let new_key = secrets::parse_key(&text)
        .with_context(|| format!("the new key in {}", new_key_file.display()))?;
    if new_key == old_key {
        bail!("the new key is the current key; make one with `kolhost secrets new-key`");
    }
    let rotated = store::rotation::rotate(db, &SecretBox::new(old_key), &SecretBox::new(new_key))
        .await
        .context("re-sealing (nothing was changed)")?;
    println!(
        "re-sealed {} KOL ID numbers and the secrets of {} plugins under the new key",
        rotated.kol_id_numbers, rotated.plugin_secrets
    );
    match old_file {
        Some(path) => {
            secrets::replace_key_file(&path, &new_key).with_context(|| {
                format!(
                    "the database is sealed under the new key, but {} still holds the old one: \
                     copy {} over it",
                    path.display(),
                    new_key_file.display()
                )
            })?;
            println!("{} now holds the new key", path.display());
        }
        None => println!(
            "set {} to the new key (from {}) before starting the server",
            secrets::KEY_ENV,
            new_key_file.display()
        ),
    }
    Ok(())
}

fn script_test(file: &std::path::Path, fixture: Option<&std::path::Path>) -> anyhow::Result<i32> {
    use kolhost::scripting::{ScriptLimits, bundled, test_script};
    let source =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let fixture = match fixture {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => bundled::DEMO_FIXTURE.to_owned(),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script.lua".into());
    match test_script(&source, &name, &fixture, &ScriptLimits::default()) {
        Ok(report) => {
            println!("{report}");
            Ok(if report.passed() { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(2)
        }
    }
}
