//! Order ingestion: platform deliveries and polled pages become deduplicated events, orders,
//! refunds and settlements, attributed to KOL, product, contract and session.
//!
//! `events` checks what plugins return, `attribution` finds who an order belongs to, `apply`
//! turns a batch into rows, `sql` writes them with one conflict-free statement per table (and
//! takes the cross-host ingest lock), `writer` commits batches in groups, `poller` pulls each
//! platform's signed API on a schedule.

pub mod apply;
pub mod attribution;
pub mod batch;
pub mod events;
pub mod poller;
pub mod sql;
pub mod writer;

pub use batch::{Committed, DeliveryRecord, DeliveryStatus, Source, Submission};
pub use events::{InvalidEvent, NormalBody, NormalEvent};
pub use writer::{Ingest, IngestError};
