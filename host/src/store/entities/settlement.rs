//! The `settlements` table: one computed settlement of a contract for a period.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settlements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contract_id: Uuid,
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub contract_version: i32,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    /// draft, superseded or approved.
    pub status: String,
    pub guarantee_assessed: bool,
    pub commission_bp: i64,
    pub revenue_share_bp: i64,
    pub tax_status: String,
    pub order_count: i64,
    pub gmv_fen: i64,
    pub refunds_fen: i64,
    pub adjustments_fen: i64,
    pub net_gmv_fen: i64,
    pub commission_fen: i64,
    pub slot_fees_fen: i64,
    pub guarantee_shortfall_fen: Option<i64>,
    pub guarantee_refund_fen: i64,
    pub platform_fees_fen: i64,
    pub kol_share_fen: i64,
    pub tax_withheld_fen: i64,
    pub brand_payable_fen: i64,
    pub kol_payable_fen: i64,
    pub lines: Json,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    /// The withholding month's (or, cumulative method, the tax year's) figures.
    pub month_income_fen: i64,
    pub month_tax_due_fen: i64,
    pub month_tax_withheld_before_fen: i64,
    /// The token that computed it (four-eyes compares it with the approver's).
    pub created_by_token_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
