//! The `settlement_items` table: what a settlement counted of one order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settlement_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub settlement_id: Uuid,
    pub order_id: Uuid,
    /// order, late_order or late_refund.
    pub kind: String,
    /// GMV counted (0 for a late refund).
    pub paid_fen: i64,
    /// Refunds counted.
    pub refunded_fen: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
