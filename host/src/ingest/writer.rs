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

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let started = Instant::now();
        let subs: Vec<Submission> = group.iter().map(|j| j.submission.clone()).collect();
        match commit(&db, &subs).await {
            Ok(results) => {
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
