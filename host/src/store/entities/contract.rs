//! The `contracts` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub platform: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub slot_fee_fen: i64,
    pub commission_bp: i64,
    pub gmv_guarantee_fen: Option<i64>,
    pub guarantee_remedy: String,
    pub exclusive: bool,
    pub lowest_price_clause: bool,
    pub sessions_committed: i64,
    pub status: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the contract was terminated (its guarantee is assessed then).
    pub terminated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
