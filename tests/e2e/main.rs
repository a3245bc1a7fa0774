//! End-to-end tests through kolhost's public HTTP interface. One test binary, one module per
//! topic; every test runs on SQLite and on PostgreSQL.

mod fixtures;

mod allocations;
mod audit;
mod auth;
mod contracts;
mod demo;
mod ingest;
mod meta;
mod plugins;
mod roster;
mod sessions;
mod validation;
