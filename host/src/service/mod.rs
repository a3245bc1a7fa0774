//! The application layer: one module per use-case area. Each function takes the [`Actor`] who
//! acts, plain inputs and its explicit dependencies (database, plugin registry, ingest writer),
//! owns its transaction, queries through `store/`, applies `domain/` rules, writes the audit row,
//! and returns a view or one [`Error`]. Nothing here knows HTTP.
//!
//! [`Actor`]: crate::domain::Actor

pub mod allocation;
pub mod audit;
pub mod auth;
pub mod children;
pub mod cluster;
pub mod compliance;
pub mod contracts;
pub mod error;
pub mod ingest;
pub mod limits;
pub mod line_text;
pub mod orders;
pub mod pagination;
pub mod plugins;
pub mod privacy;
pub mod reconciliation;
pub mod reports;
pub mod retention;
pub mod roster;
pub mod scripts;
pub mod sessions;
pub mod settlement;
pub mod statements;
pub mod tokens;
pub mod visibility;

pub use error::{Error, Result};
pub use pagination::{Page, PageRequest};
