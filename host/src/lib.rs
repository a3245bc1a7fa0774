//! kolhost: the operations server of a livestream-commerce agency.
//!
//! `api` is the HTTP shell, `service` the application (use cases), `domain` the rules as pure
//! functions, `store` the database. See ARCHITECTURE.md.

pub mod api;
pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod ingest;
pub mod plugins;
pub mod scripting;
pub mod server;
pub mod service;
pub mod store;
pub mod web;
