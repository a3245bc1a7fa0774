//! The ingest writer: one task that commits submissions in groups.
//!
//! Every webhook handler and poller hands its submission to this task and waits for the
//! commit before it answers. While one transaction commits, the next submissions queue up and
//! go into the next transaction together (group commit): one fsync covers many deliveries,
//! and a delivery is acknowledged only once it is durable. One writer also means that
//! deduplication by event key never races with itself.
//!
//! If a group fails to commit, its submissions are retried one by one, so a single bad one
//! fails alone.

use std::time::Instant;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::apply::apply;
use super::batch::{Committed, Job, Submission};

/// Most submissions committed in one transaction.
pub const MAX_GROUP: usize = 512;
/// Submissions that may wait for the writer before senders are slowed down.
const QUEUE: usize = 8192;

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

/// Why a submission was not committed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the ingest writer has stopped")]
    Stopped,
    #[error("storing failed: {0}")]
    Store(String),
}

impl Ingest {
    /// Starts the writer on the current tokio runtime.
    pub fn start(db: DatabaseConnection) -> Ingest {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx));
        Ingest { tx }
    }

    /// Commits `s`; returns once it is durable.
    pub async fn submit(&self, s: Submission) -> Result<Committed, IngestError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job {
                submission: s,
                done,
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        rx.await
            .map_err(|_| IngestError::Stopped)?
            .map_err(IngestError::Store)
    }
}

/// Rows committed before the first statistics refresh; each refresh doubles it, up to
/// [`ANALYZE_MAX_EVERY`].
const ANALYZE_FIRST: u64 = 1_000;
const ANALYZE_MAX_EVERY: u64 = 1_000_000;

/// Keeps the planner statistics of the hot tables current as ingest grows them: a refresh
/// (`ANALYZE`, in the background) after 1,000 committed events, then after 2,000 more, 4,000
/// more, ... (at most every million), so the statistics never lag the tables by more than
/// about half.
struct Statistics {
    grown: u64,
    next: u64,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Statistics {
    fn committed(&mut self, db: &DatabaseConnection, rows: u64) {
        self.grown += rows;
        if self.grown < self.next || self.running.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        self.grown = 0;
        self.next = (self.next * 2).min(ANALYZE_MAX_EVERY);
        let db = db.clone();
        self.running = Some(tokio::spawn(async move {
            if let Err(e) = crate::store::analyze(&db, &crate::store::HOT_TABLES).await {
                tracing::warn!(error = %e, "refreshing ingest statistics failed");
            }
        }));
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut stats = Statistics {
        grown: 0,
        next: ANALYZE_FIRST,
        running: None,
    };
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let started = Instant::now();
        let subs: Vec<Submission> = group.iter().map(|j| j.submission.clone()).collect();
        match commit(&db, &subs).await {
            Ok(results) => {
                stats.committed(&db, results.iter().map(|r| r.new_events as u64 + 1).sum());
                for (job, r) in group.drain(..).zip(results) {
                    let _ = job.done.send(Ok(r));
                }
            }
            Err(e) if group.len() > 1 => {
                tracing::warn!(error = %e, size = group.len(), "group commit failed; retrying one by one");
                for job in group.drain(..) {
                    let r = commit(&db, std::slice::from_ref(&job.submission)).await;
                    let _ = job
                        .done
                        .send(r.map(|mut v| v.remove(0)).map_err(|e| e.to_string()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ingest commit failed");
                for job in group.drain(..) {
                    let _ = job.done.send(Err(e.to_string()));
                }
            }
        }
        metrics::histogram!("kolhost_ingest_group_size").record(subs.len() as f64);
        metrics::histogram!("kolhost_ingest_commit_seconds")
            .record(started.elapsed().as_secs_f64());
    }
}

async fn commit(db: &DatabaseConnection, subs: &[Submission]) -> Result<Vec<Committed>, DbErr> {
    let txn = crate::store::write_txn(db).await?;
    let out = apply(&txn, subs).await?;
    txn.commit().await?;
    Ok(out)
}
