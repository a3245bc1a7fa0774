//! Changes other hosts must see: on PostgreSQL every change to a plugin (a new version, the
//! active version, enabled or not, config and secrets, quarantine) and every revoked token is
//! announced with `NOTIFY` in the transaction that stores it, so the announcement goes out at
//! commit and only then. Every host `LISTEN`s (see `service::cluster`) and reloads what the
//! announcement names from the database. On SQLite (one host) nothing is announced.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

/// The channel changes are announced on.
pub const CHANNEL: &str = "kolhost_changes";

/// What changed; the payload names it, the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The plugin's stored state changed: reload it.
    Plugin(String),
    /// The token was revoked (or otherwise changed): forget it.
    Token(Uuid),
}

impl Change {
    pub fn encode(&self) -> String {
        match self {
            Change::Plugin(name) => format!("plugin:{name}"),
            Change::Token(id) => format!("token:{id}"),
        }
    }

    /// Reads a payload; `None` for one this build does not know (from a newer host).
    pub fn decode(payload: &str) -> Option<Change> {
        match payload.split_once(':')? {
            ("plugin", name) if !name.is_empty() => Some(Change::Plugin(name.to_owned())),
            ("token", id) => Uuid::parse_str(id).ok().map(Change::Token),
            _ => None,
        }
    }
}

/// Announces `change` to every host when the surrounding transaction commits (PostgreSQL;
/// nothing on SQLite).
pub async fn announce<C: ConnectionTrait>(db: &C, change: &Change) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [Value::from(CHANNEL), Value::from(change.encode())],
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let id = Uuid::now_v7();
        for c in [Change::Plugin("douyin".into()), Change::Token(id)] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("plugin:"), None);
        assert_eq!(Change::decode("token:nope"), None);
        assert_eq!(Change::decode("script:x"), None);
        assert_eq!(Change::decode("garbage"), None);
    }
}
