//! The `live_stats` table: snapshots of a live room's figures.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "live_stats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub room_id: String,
    pub account_id: Option<String>,
    pub session_id: Option<Uuid>,
    pub at: DateTimeUtc,
    pub viewers: i64,
    pub gmv_fen: i64,
    pub orders: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
