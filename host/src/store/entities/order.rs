//! The `orders` table: one row per platform (sub-)order, with its attribution.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub platform_order_id: String,
    /// '' when the platform does not split the order.
    pub sub_order_id: String,
    pub item_id: String,
    pub account_id: Option<String>,
    pub room_id: Option<String>,
    pub units: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub settled_fen: Option<i64>,
    /// The platform's own fee on the order (Buyin `settled_tech_service_fee`): what settlements
    /// count as platform fees.
    pub platform_commission_fen: Option<i64>,
    pub commission_bp: Option<i32>,
    pub status: String,
    pub paid_at: DateTimeUtc,
    pub settled_at: Option<DateTimeUtc>,
    pub kol_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub attributed: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub unattributed_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Stored from a push notice (ids and amount only), waiting for the detail a pull brings.
    pub awaiting_detail: bool,
    /// The platform's latest own status (Douyin tag / `flow_point`, `cpsOrderStatus`, ...).
    pub platform_status: Option<String>,
    /// First seen by push, and the amount the push said.
    pub pushed_at: Option<DateTimeUtc>,
    pub pushed_fen: Option<i64>,
    /// First seen by pull, and the amount the pull said.
    pub pulled_at: Option<DateTimeUtc>,
    pub pulled_fen: Option<i64>,
    /// The commission the platform computed (Buyin `real_commission`), for comparison.
    pub reported_commission_fen: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
