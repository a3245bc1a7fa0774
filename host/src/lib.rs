//! kolhost: the operations server of a livestream-commerce agency.
//!
//! `api` is the HTTP shell, `domain` the rules as pure functions, `store` the database.

pub mod api;
pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod ingest;
pub mod plugins;
pub mod scripting;
pub mod store;
pub mod web;
