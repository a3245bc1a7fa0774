//! The `compliance_findings` table: what a warn-mode check found in a write, and its review
//! (acknowledged, resolved: by whom, when). Never deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "compliance_findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub rule: String,
    /// What exactly was found (`domain::compliance::Finding::code`).
    pub code: String,
    /// Its values, as a JSON object.
    #[sea_orm(column_type = "Text", nullable)]
    pub params: Option<String>,
    pub mode: String,
    pub field: String,
    pub term: Option<String>,
    pub char_offset: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub related_id: Option<Uuid>,
    /// For a lineup slot: the slot's contract (whose parties see the finding).
    pub contract_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
