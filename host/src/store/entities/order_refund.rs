//! The `order_refunds` table: refunds by the platform's refund id; `order_id` is null while a
//! refund waits for its order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub platform_order_id: String,
    pub sub_order_id: String,
    pub refund_id: String,
    pub refunded_fen: i64,
    pub refunded_at: DateTimeUtc,
    pub order_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
