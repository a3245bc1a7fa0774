//! End-to-end tests through kolhost's public HTTP interface. One test binary, one module per
//! topic; every test runs on SQLite and on PostgreSQL.

mod fixtures;

mod allocations;
mod audit;
mod auth;
mod compliance;
mod connections;
mod contracts;
mod demo;
mod imports;
mod ingest;
mod limits;
mod meta;
mod platforms;
mod plugin_uploads;
mod plugins;
mod polyglot;
mod privilege;
mod retention;
mod roster;
mod secrets;
mod sessions;
mod settlements;
mod tokens;
mod validation;
