//! kolhost's schema, as sea-orm migrations that run unchanged on SQLite and PostgreSQL.
//! They run on every start and by `kolhost migrate`. A released migration is never edited:
//! a change is a new migration.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_roster;
mod m20261125_000002_create_contracts;
mod m20261125_000003_create_sessions;
mod m20261125_000004_create_audit_and_tokens;
mod m20261125_000005_create_scripts;
mod m20261125_000006_create_plugins;
mod m20261125_000007_create_ingestion;
mod m20261125_000008_create_settlements;
mod m20261204_000001_order_notices;
mod m20261204_000001_token_lifecycle;
mod m20261204_000002_delivery_digest;
mod m20261204_000002_plugin_quarantine;
mod m20261204_000003_finding_contract;
mod m20261204_000009_money_terms_tax;
mod m20261205_000001_leases;
mod m20261205_000001_plugin_secrets_sealed;
mod m20261205_000001_sub_order_partial_indexes;
mod m20261205_000101_script_publications;
mod m20261205_000102_finding_review;
mod m20261205_000103_finding_codes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_roster::Migration),
            Box::new(m20261125_000002_create_contracts::Migration),
            Box::new(m20261125_000003_create_sessions::Migration),
            Box::new(m20261125_000004_create_audit_and_tokens::Migration),
            Box::new(m20261125_000005_create_scripts::Migration),
            Box::new(m20261125_000006_create_plugins::Migration),
            Box::new(m20261125_000007_create_ingestion::Migration),
            Box::new(m20261125_000008_create_settlements::Migration),
            Box::new(m20261204_000001_order_notices::Migration),
            Box::new(m20261204_000001_token_lifecycle::Migration),
            Box::new(m20261204_000002_delivery_digest::Migration),
            Box::new(m20261204_000002_plugin_quarantine::Migration),
            Box::new(m20261204_000003_finding_contract::Migration),
            Box::new(m20261204_000009_money_terms_tax::Migration),
            Box::new(m20261205_000001_leases::Migration),
            Box::new(m20261205_000001_plugin_secrets_sealed::Migration),
            Box::new(m20261205_000001_sub_order_partial_indexes::Migration),
            Box::new(m20261205_000101_script_publications::Migration),
            Box::new(m20261205_000102_finding_review::Migration),
            Box::new(m20261205_000103_finding_codes::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `target.id`, named after both.
pub(crate) fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .to_owned()
}
