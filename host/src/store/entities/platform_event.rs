//! The `platform_events` table: one row per distinct normalised event, keyed by
//! (plugin, event_key) so that a redelivered event counts once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plugin: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_key: String,
    pub platform: String,
    /// `order_paid`, `order_refunded`, `order_settled`, `live_stats`.
    pub kind: String,
    pub platform_order_id: Option<String>,
    pub sub_order_id: String,
    pub delivery_id: Option<Uuid>,
    /// `webhook` or `poll`.
    pub source: String,
    pub body: Json,
    /// `applied`, `pending` (waits for its order) or `ignored`.
    pub outcome: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
