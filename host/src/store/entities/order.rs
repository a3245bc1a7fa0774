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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
