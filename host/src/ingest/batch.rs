//! What the writer commits: deliveries (accepted or not) with their events, and poller pages
//! with their next cursor.

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::events::NormalEvent;

/// What became of a delivery, stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Verified and parsed; its events were taken in.
    Accepted,
    /// Not authentic (bad signature, cannot be decrypted). Kept for inspection, never applied.
    Rejected,
    /// Authentic but not understood (truncated JSON, missing fields).
    Malformed,
    /// The plugin failed on it (trap, timeout, invalid output); kept so it can be replayed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Malformed => "malformed",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A webhook delivery as received.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub platform: String,
    pub plugin: String,
    pub status: DeliveryStatus,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
    /// For a digest (a refused delivery, body cut to its first KiB): the full size and SHA-256.
    pub size_bytes: Option<i64>,
    pub body_sha256: Option<String>,
}

/// Where a batch of events came from.
#[derive(Debug, Clone)]
pub enum Source {
    Webhook(DeliveryRecord),
    /// A page from a plugin's `poll`; the cursor is stored in the same transaction as the
    /// events, so a restart resumes exactly after what is durable. With a `lease`, the page
    /// commits only if that lease is still held (checked in the same transaction): a poller that
    /// lost its lease to another host never applies a page or moves the cursor.
    Poll {
        next_cursor: Option<String>,
        error: Option<String>,
        lease: Option<crate::store::leases::Held>,
    },
}

/// One unit of work for the writer.
#[derive(Debug, Clone)]
pub struct Submission {
    pub plugin: String,
    pub platform: String,
    pub source: Source,
    pub events: Vec<NormalEvent>,
}

/// What committing a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Committed {
    /// Events in the submission.
    pub events: usize,
    /// Events seen for the first time (the rest were repeats).
    pub new_events: usize,
}

pub(crate) struct Job {
    pub submission: Submission,
    pub done: oneshot::Sender<Result<Committed, String>>,
}
