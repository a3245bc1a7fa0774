//! Leases: work that exactly one host may do at a time (a platform plugin's poller, the
//! retention job) is done by whoever holds its lease row. A lease is taken when it is free or
//! expired and renewed by its holder; a holder that dies stops renewing and another host takes
//! the lease once it expires. Every change of holder raises the lease's epoch, and what a holder
//! writes under its lease is checked in the writing transaction ([`still_held`]), so a holder that
//! was too slow to notice it lost the lease cannot write after the new holder.
//!
//! Times are the database's clock, so hosts with skewed clocks agree. On SQLite there is one host,
//! and it always holds.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, Value};

/// A lease this host holds: which, by whom, and the epoch it was taken at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub name: String,
    pub holder: String,
    pub epoch: i64,
}

/// Takes and renews leases for one holder (this host).
#[derive(Clone)]
pub struct Leases {
    db: DatabaseConnection,
    holder: String,
    ttl: Duration,
}

impl Leases {
    /// Leases for `holder`, each lasting `ttl` past its last renewal.
    pub fn new(db: DatabaseConnection, holder: String, ttl: Duration) -> Leases {
        Leases { db, holder, ttl }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes the lease `name` if it is free or expired, or renews it if this holder has it.
    /// `None`: another holder has it.
    pub async fn acquire(&self, name: &str) -> Result<Option<Held>, DbErr> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Some(Held {
                name: name.to_owned(),
                holder: self.holder.clone(),
                epoch: 0,
            }));
        }
        let sql = "INSERT INTO leases (name, holder, epoch, acquired_at, expires_at) \
            VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $3)) \
            ON CONFLICT (name) DO UPDATE SET \
              holder = EXCLUDED.holder, \
              epoch = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.epoch ELSE leases.epoch + 1 END, \
              acquired_at = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.acquired_at ELSE EXCLUDED.acquired_at END, \
              expires_at = EXCLUDED.expires_at \
            WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < clock_timestamp() \
            RETURNING epoch";
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                [
                    Value::from(name),
                    Value::from(self.holder.as_str()),
                    Value::from(self.ttl.as_secs_f64()),
                ],
            ))
            .await?;
        let held = match row {
            Some(row) => Some(Held {
                name: name.to_owned(),
                holder: self.holder.clone(),
                epoch: row.try_get::<i64>("", "epoch")?,
            }),
            None => None,
        };
        metrics::gauge!("kolhost_lease_held", "lease" => name.to_owned()).set(if held.is_some() {
            1.0
        } else {
            0.0
        });
        Ok(held)
    }

    /// Gives a held lease up, so another host may take it at once.
    pub async fn release(&self, held: &Held) -> Result<(), DbErr> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "DELETE FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3",
                [
                    Value::from(held.name.as_str()),
                    Value::from(held.holder.as_str()),
                    Value::from(held.epoch),
                ],
            ))
            .await?;
        metrics::gauge!("kolhost_lease_held", "lease" => held.name.clone()).set(0.0);
        Ok(())
    }

    /// Who holds the lease `name` now, if anyone does (an expired lease is held by no one).
    pub async fn holder_of(&self, name: &str) -> Result<Option<String>, DbErr> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Some(self.holder.clone()));
        }
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT holder FROM leases WHERE name = $1 AND expires_at >= clock_timestamp()",
                [Value::from(name)],
            ))
            .await?;
        row.map(|r| r.try_get::<String>("", "holder")).transpose()
    }
}

/// Inside a writing transaction: whether `held` is still this holder's lease at this epoch and
/// unexpired. The row is locked until the transaction ends, so the lease cannot change hands
/// between this check and the commit.
pub async fn still_held<C: ConnectionTrait>(db: &C, held: &Held) -> Result<bool, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(true);
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT epoch FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 \
             AND expires_at > clock_timestamp() FOR SHARE",
            [
                Value::from(held.name.as_str()),
                Value::from(held.holder.as_str()),
                Value::from(held.epoch),
            ],
        ))
        .await?;
    Ok(row.is_some())
}

/// A lease kept: renewed in the background every third of its length until dropped or lost.
pub struct Holding {
    current: std::sync::Arc<std::sync::Mutex<Option<Held>>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Holding {
    /// The lease as held now; `None` once it was lost (another holder took it, or it could not
    /// be renewed for its whole length).
    pub fn current(&self) -> Option<Held> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl Leases {
    /// Takes the lease `name` (see [`Leases::acquire`]) and keeps renewing it while the
    /// returned [`Holding`] lives. `None`: another holder has it.
    pub async fn hold(&self, name: &str) -> Result<Option<Holding>, DbErr> {
        let Some(held) = self.acquire(name).await? else {
            return Ok(None);
        };
        let current = std::sync::Arc::new(std::sync::Mutex::new(Some(held)));
        let (leases, name, slot) = (self.clone(), name.to_owned(), current.clone());
        let renewer = tokio::spawn(async move {
            let every = leases.ttl / 3;
            let mut renewed = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(every).await;
                let now = match leases.acquire(&name).await {
                    Ok(Some(h)) => {
                        renewed = tokio::time::Instant::now();
                        Some(h)
                    }
                    Ok(None) => None,
                    Err(e) if renewed.elapsed() < leases.ttl => {
                        tracing::warn!(lease = %name, error = %e, "renewing a lease failed; trying again");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(lease = %name, error = %e, "a lease could not be renewed for its whole length; given up");
                        None
                    }
                };
                let lost = now.is_none();
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = now;
                if lost {
                    tracing::info!(lease = %name, "lease lost to another host");
                    return;
                }
            }
        });
        Ok(Some(Holding { current, renewer }))
    }

    /// Like [`Leases::hold`], waiting up to one lease length for another holder's lease to
    /// expire. `None`: still held by someone else after that.
    pub async fn hold_waiting(&self, name: &str) -> Result<Option<Holding>, DbErr> {
        let deadline = tokio::time::Instant::now() + self.ttl + Duration::from_secs(1);
        loop {
            if let Some(h) = self.hold(name).await? {
                return Ok(Some(h));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
