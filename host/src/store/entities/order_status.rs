//! The `order_status_history` table: every platform status an event reported about an order
//! (Douyin tags, `flow_point`, `cpsOrderStatus`, `tk_status`, TMC topics), in arrival order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_status_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub platform_order_id: String,
    /// '' when the event names no sub-order.
    pub sub_order_id: String,
    pub status: String,
    /// The event's kind (`order_notice`, `order_status`, `order_paid`, ...).
    pub kind: String,
    /// `webhook` or `poll`.
    pub source: String,
    pub plugin: String,
    pub event_key: String,
    /// When the platform says the status changed, if it says.
    pub at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
