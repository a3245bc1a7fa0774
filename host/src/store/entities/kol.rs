//! The `kols` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kols")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub tier: String,
    pub categories: Json,
    pub revenue_share_bp: i64,
    pub tax_status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Tax identity: the legal name, the ID type, the ID number sealed (`store::secrets`) and
    /// masked for display.
    pub legal_name: Option<String>,
    pub id_type: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub id_number_sealed: Option<String>,
    pub id_number_masked: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
