//! The `plugins` table: the state of each named plugin.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub active_version: i32,
    pub enabled: bool,
    /// A JSON object of string values.
    pub config: Json,
    /// Legacy: the secret values in plain text, as rows written before secrets were sealed hold
    /// them. Always `{}` once the server has started (`store::rotation::prepare`).
    pub secrets: Json,
    pub updated_at: DateTimeUtc,
    /// Why the plugin is quarantined; none when it is not.
    pub quarantine_reason: Option<String>,
    pub quarantined_at: Option<DateTimeUtc>,
    /// When the next half-open retry is let through.
    pub quarantine_retry_at: Option<DateTimeUtc>,
    /// Trips in a row (the back-off doubles with each).
    pub quarantine_trips: i32,
    /// The secret values (a JSON object of strings), sealed with the server key
    /// (`store::secrets`, bound to the plugin's name); none when there are none. Never returned
    /// by the API.
    pub secrets_sealed: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
